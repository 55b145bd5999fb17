"""The counter in a real browser (Debian's chromium via Selenium) against the office service on loopback."""

from __future__ import annotations

import re
import time

import pytest
from office_browser import browser_missing, chromium, counter_lab, log_in, submit

from hal.device import HealthStatus
from kiosk.service_notices import ServiceNotices

MISSING = browser_missing()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=f"browser tests skipped: {MISSING}")

if MISSING is None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys


@pytest.fixture
def office(tmp_path):
    with counter_lab(tmp_path) as lab:
        yield lab


@pytest.fixture
def browser(tmp_path):
    driver = chromium(tmp_path / "profile")
    try:
        yield driver
    finally:
        driver.quit()


def text(driver, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).text


def loaded(driver, element_id: str) -> bool:
    """Whether an <img> was decoded by the browser (a broken image has no natural width)."""
    image = driver.find_element(By.ID, element_id)
    return driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", image)


def test_scan_a_receipt_tick_documents_serve_and_see_the_audit(office, browser):
    payload = office.kiosk_saves()
    log_in(browser, office.url, "siti")
    browser.get(office.url + "/language?to=en&next=/counter")
    # A USB scanner types the payload and presses Enter into the focused field.
    assert browser.switch_to.active_element.get_attribute("id") == "code"
    field = browser.switch_to.active_element
    submit(browser, lambda: field.send_keys(payload + Keys.ENTER))
    assert "/counter/records/BMT-MODAYAG-01/" in browser.current_url
    assert text(browser, "service") == "e-KTP recording" and text(browser, "state") == "Received"
    assert "SITI AMINAH MOKODOMPIT" in text(browser, "fields")
    assert loaded(browser, "photo") and loaded(browser, "signature")
    browser.find_element(By.ID, "doc-kk").click()
    browser.find_element(By.ID, "doc-cover_letter").click()
    submit(browser, browser.find_element(By.ID, "save-documents").click)
    assert text(browser, "done") == "Documents saved."
    assert browser.find_element(By.ID, "doc-kk").is_selected()
    submit(browser, browser.find_element(By.ID, "to-checked").click)
    assert text(browser, "state") == "Checked"
    submit(browser, browser.find_element(By.ID, "to-served").click)
    assert text(browser, "state") == "Served" and text(browser, "closed").startswith("This record is closed.")
    rows = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "#audit tbody tr")]
    steps = [row.split(" siti ", 1)[1] for row in reversed(rows)]
    assert steps == [
        "viewed the record",
        "documents ticked cover_letter,kk",
        "viewed the record",
        "state changed received -> checked",
        "viewed the record",
        "state changed checked -> served",
        "viewed the record",
    ]


def test_a_receipt_whose_record_has_not_arrived_is_verified_offline(office, browser):
    office.heartbeat({"version": "0.1.0"})
    # Captured two minutes after the kiosk's last heartbeat, then its network went down.
    payload = office.kiosk_saves(deliver=False, captured_at=time.time() + 120)
    log_in(browser, office.url, "siti")
    browser.get(office.url + "/language?to=en&next=/counter")
    field = browser.find_element(By.ID, "code")
    submit(browser, lambda: field.send_keys(payload + Keys.ENTER))
    sentence = text(browser, "find-result")
    assert sentence.startswith("Genuine receipt ") and "captured at BMT-MODAYAG-01 on " in sentence
    assert "not received yet: the kiosk is offline since " in sentence  # heard before the capture, not since
    # The same receipt with one character changed is refused with a plain sentence.
    forged = payload[:-5] + ("A" if payload[-5] != "A" else "B") + payload[-4:]
    field = browser.find_element(By.ID, "code")
    submit(browser, lambda: field.send_keys(forged + Keys.ENTER))
    assert "It is forged or was altered." in text(browser, "find-result")


def test_a_failed_camera_on_the_fleet_page_and_a_notice_reaching_the_kiosk(office, browser, tmp_path):
    from test_fleet_and_notices import snapshot

    from hal.device import Health

    office.heartbeat(snapshot(tmp_path, Health(HealthStatus.FAILED, "no frames for 5 s")))
    log_in(browser, office.url, "budi")
    browser.get(office.url + "/language?to=en&next=/fleet")
    row = browser.find_element(By.ID, "kiosk-BMT-MODAYAG-01")
    # The devices in words, not the kiosk's ids ("signature_pad: ok").
    devices = row.find_element(By.CSS_SELECTOR, "td.devices").text
    assert "Camera: failed" in devices and "Receipt printer: switched off" in devices
    assert not re.search(r"(^|\s)(camera|signature_pad|power|printer): (ok|degraded|failed|off)", devices)
    assert row.find_element(By.CSS_SELECTOR, "svg.chart")
    assert "BMT-MODAYAG-01: the camera has failed (no frames for 5 s)." in text(browser, "alerts")
    browser.get(office.url + "/language?to=id&next=/fleet")
    devices = browser.find_element(By.CSS_SELECTOR, "#kiosk-BMT-MODAYAG-01 td.devices").text
    assert "Kamera: rusak" in devices and "Printer struk: dimatikan" in devices
    assert "BMT-MODAYAG-01: kamera rusak (no frames for 5 s)." in text(browser, "alerts")
    browser.get(office.url + "/language?to=en&next=/fleet")
    # The supervisor marks e-KTP recording unavailable; the kiosk learns it with its next heartbeat.
    browser.get(office.url + "/notices")
    browser.find_element(By.ID, "text_id").send_keys("Perekaman e-KTP: alat rusak hari ini")
    browser.find_element(By.ID, "text_en").send_keys("e-KTP recording: the recorder is broken today")
    submit(browser, browser.find_element(By.ID, "post-notice").click)
    assert "Perekaman e-KTP: alat rusak hari ini" in text(browser, "notices")
    notices = ServiceNotices()
    notices.update(office.heartbeat({"version": "0.1.0"}))
    [notice] = notices.for_service("ektp")
    assert notice.text("en") == "e-KTP recording: the recorder is broken today" and notice.unavailable
