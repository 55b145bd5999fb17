"""Screenshots of every office page in Bahasa Indonesia and English, taken by chromium at 1366 x 768.

    .venv/bin/python scripts/office_screenshots.py [--out docs/screenshots/office]

Starts the office service on loopback with a lab kiosk, lets the kiosk's own registration save records,
gives the fleet a week of heartbeats (one kiosk with a failed camera, one silent), posts a notice, and walks
the pages as an officer and a supervisor would. Needs Debian's chromium and chromium-driver.
"""

from __future__ import annotations

import argparse
import datetime
import json
import secrets
import sys
import tempfile
from pathlib import Path

from office_browser import browser_missing, chromium, counter_lab, log_in, submit

from kiosk.sealing import KioskIdentity
from office import db

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots" / "office"


def _snapshot(camera: str, pending: int, on_battery: bool = False) -> dict:
    return {
        "devices": [
            {
                "name": "camera",
                "backend": "picamera2",
                "status": camera,
                "detail": "no frames for 5 s" if camera == "failed" else "",
            },
            {"name": "signature_pad", "backend": "serial", "status": "ok", "detail": ""},
            {"name": "printer", "backend": "escpos", "status": "ok", "detail": ""},
            {"name": "power", "backend": "x728", "status": "ok", "detail": ""},
        ],
        "records": {"pending": pending, "sending": 0, "sent": 40, "dead": 0},
        "oldest_pending_age_s": 600.0 * pending if pending else None,
        "battery": {"on_battery": on_battery, "percent": 64.0 if on_battery else 100.0, "volts": 4.0},
        "version": "0.1.0",
        "failed_pin_attempts": 0,
    }


def _fleet_history(office) -> None:
    """Other kiosks and a week of heartbeats, written straight into the office database."""
    store = office.server.store
    for kiosk_id in ("BMT-NUANGAN-01", "BMT-KOTABUNAN-01"):
        key = KioskIdentity.load_or_create(office.lab.directory / kiosk_id)
        store.enroll(kiosk_id, key.verify_key_b64, secrets.token_urlsafe(24))
    now = store.now()
    rows = []
    for hour in range(7 * 24, -1, -1):
        at = now - datetime.timedelta(hours=hour, minutes=1)
        working = 7 <= (at.hour + 8) % 24 <= 16  # office hours in WITA
        rows.append(("BMT-MODAYAG-01", at, _snapshot("ok", hour % 5 if working else 0)))
        if hour > 30:  # Nuangan: silent since the power cut yesterday
            rows.append(("BMT-NUANGAN-01", at, _snapshot("ok", 0, on_battery=hour < 40)))
        rows.append(("BMT-KOTABUNAN-01", at, _snapshot("failed" if hour < 50 else "ok", 2 if working else 0)))
    with db.writer(store.engine).begin() as conn:
        conn.execute(
            db.heartbeats.insert(),
            [{"kiosk_id": k, "received_at": at, "snapshot": json.dumps(s)} for k, at, s in rows],
        )


def shoot(out: Path) -> list[Path]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    taken: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp, counter_lab(Path(tmp)) as office:
        payloads = [office.kiosk_saves(name) for name in ("SITI AMINAH MOKODOMPIT", "BUDI PAPUTUNGAN")]
        office.heartbeat(_snapshot("ok", 0))
        offline = office.kiosk_saves(
            "RINA MAMONTO", deliver=False, captured_at=office.server.store.now().timestamp() + 90
        )
        _fleet_history(office)
        driver = chromium(Path(tmp) / "profile")
        try:

            def save(name: str, lang: str) -> None:
                path = out / lang / f"{name}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                driver.save_screenshot(str(path))
                taken.append(path)

            def go(path: str, lang: str) -> None:
                driver.get(f"{office.url}/language?to={lang}&next={path}")

            def scan(text: str) -> None:
                field = driver.find_element(By.ID, "code")
                field.clear()
                submit(driver, lambda: field.send_keys(text + Keys.ENTER))

            for lang in ("id", "en"):
                driver.delete_all_cookies()
                driver.get(f"{office.url}/language?to={lang}&next=/login")
                save("login", lang)
                log_in(driver, office.url, "budi")
                go("/notices", lang)
                if not driver.find_elements(By.CSS_SELECTOR, "table#notices"):
                    driver.find_element(By.ID, "text_id").send_keys("Perekaman e-KTP: alat rusak hari ini")
                    driver.find_element(By.ID, "text_en").send_keys(
                        "e-KTP recording: the recorder is broken today"
                    )
                    submit(driver, driver.find_element(By.ID, "post-notice").click)
                save("notices", lang)
                go("/counter", lang)
                save("counter", lang)
                scan(offline)
                save("counter-offline-receipt", lang)
                scan(payloads[0][:-6] + "AAAAAA")
                save("counter-forged-receipt", lang)
                scan(payloads[1 if lang == "id" else 0])
                save("record", lang)
                driver.find_element(By.ID, "doc-kk").click()
                submit(driver, driver.find_element(By.ID, "save-documents").click)
                submit(driver, driver.find_element(By.ID, "to-checked").click)
                submit(driver, driver.find_element(By.ID, "to-served").click)
                driver.execute_script("window.scrollTo(0, document.body.scrollHeight)")
                save("record-served-history", lang)
                go("/fleet", lang)
                save("fleet", lang)
                go("/audit", lang)
                save("audit", lang)
                go("/bundles", lang)
                save("bundles", lang)
                submit(driver, driver.find_element(By.ID, "logout").click)
                log_in(driver, office.url, "siti")
                go("/audit", lang)
                save("refused-role", lang)
                submit(driver, driver.find_element(By.ID, "logout").click)
        finally:
            driver.quit()
    return taken


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if reason := browser_missing():
        print(f"no screenshots: {reason}", file=sys.stderr)
        return 1
    for path in shoot(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
