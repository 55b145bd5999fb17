"""The pages over real HTTP (uvicorn on loopback): login, roles, CSRF, headers, languages, the counter."""

from __future__ import annotations

import re

import httpx
import pytest
from conftest import FAST_HASHER, PASSWORD

from kiosk.receipt_qr import encode_receipt_qr
from kiosk.sync import sync_once
from office.accounts import Accounts


@pytest.fixture
def site(lab, server):
    accounts = Accounts(server.store.engine, hasher=FAST_HASHER)
    accounts.create_user("siti", "Siti Mokodompit", "officer", PASSWORD)
    accounts.create_user("budi", "Budi Paputungan", "supervisor", PASSWORD)
    return server


def csrf(page: httpx.Response) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def logged_in(server, username: str = "siti") -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=server.url, follow_redirects=True, timeout=10)
    form = client.get("/login")
    page = client.post("/login", data={"csrf_token": csrf(form), "username": username, "password": PASSWORD})
    assert page.status_code == 200 and page.url.path == "/counter", page.text
    return client, csrf(page)


def deliver(lab, server, seq: int = 1) -> tuple[str, str]:
    outbox = lab.outbox()
    sealed = lab.seal(lab.record(seq, photo_size=2000))
    outbox.enqueue(sealed)
    assert sync_once(outbox, lab.client(server.url)).sent == 1
    outbox.close()
    return sealed.record_id, encode_receipt_qr(sealed, lab.identity)


@pytest.mark.parametrize("path", ["/counter", "/fleet", "/notices", "/audit", "/counter/export"])
def test_every_page_needs_a_login(site, path):
    answer = httpx.get(site.url + path)
    assert answer.status_code == 303 and answer.headers["location"] == f"/login?next={path}"


def test_an_officer_is_refused_supervisor_pages(site):
    client, token = logged_in(site)
    audit = client.get("/audit")
    assert audit.status_code == 403 and "diperlukan supervisor" in audit.text  # Indonesian unless switched
    posted = client.post("/notices", data={"csrf_token": token, "service": "ektp", "level": "limited"})
    assert posted.status_code == 403
    client.get("/language?to=en&next=/counter")
    assert "Your role (officer) may not open this page: it needs supervisor." in client.get("/audit").text


def test_a_supervisor_may(site):
    client, token = logged_in(site, "budi")
    assert client.get("/audit").status_code == 200
    posted = client.post(
        "/notices", data={"csrf_token": token, "service": "ektp", "level": "limited", "text_en": "slow today"}
    )
    assert posted.status_code == 200 and "slow today" in posted.text


def test_record_page_needs_the_officer_role_and_is_refused_without_login(lab, site):
    record_id, _ = deliver(lab, site)
    path = f"/counter/records/{lab.kiosk_id}/{record_id}"
    anonymous = httpx.get(site.url + path)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    forged_cookie = httpx.get(site.url + path, cookies={"dk_session": "made-up"})
    assert forged_cookie.status_code == 303
    client, _ = logged_in(site)
    page = client.get(path)
    assert page.status_code == 200 and "WARGA PERCOBAAN 1" in page.text


@pytest.mark.parametrize("token", [None, "", "wrong"])
def test_posts_without_the_right_csrf_token_are_refused(lab, site, token):
    record_id, payload = deliver(lab, site)
    client, _ = logged_in(site)
    data = {} if token is None else {"csrf_token": token}
    path = f"/counter/records/{lab.kiosk_id}/{record_id}"
    for url, form in [
        ("/counter/find", {"code": payload}),
        (path + "/state", {"state": "checked"}),
        (path + "/documents", {"document": "kk"}),
        ("/counter/search", {"nik": "7110000000000001"}),
        ("/logout", {}),
    ]:
        answer = client.post(url, data={**data, **form})
        assert answer.status_code == 403, url
        assert (
            "kedaluwarsa" in answer.text
        )  # "This form has expired or came from another site", in Indonesian
    assert client.get(path).text.count('class="state received"') == 1  # nothing moved


def test_login_without_its_cookie_is_refused(site):
    form = httpx.get(site.url + "/login")
    answer = httpx.post(
        site.url + "/login", data={"csrf_token": csrf(form), "username": "siti", "password": PASSWORD}
    )
    assert answer.status_code == 403 and "dk_session" not in answer.headers.get("set-cookie", "")


def test_wrong_password_then_lockout_message(site):
    client = httpx.Client(base_url=site.url, timeout=10)
    for _ in range(6):
        form = client.get("/login")
        answer = client.post(
            "/login", data={"csrf_token": csrf(form), "username": "siti", "password": "nope nope"}
        )
        assert answer.status_code == 403
    assert "dikunci selama 15 menit" in answer.text


def test_security_headers_and_cookie_flags(site):
    form = httpx.get(site.url + "/login")
    assert "frame-ancestors 'none'" in form.headers["content-security-policy"]
    assert form.headers["cache-control"] == "no-store" and form.headers["x-content-type-options"] == "nosniff"
    client = httpx.Client(base_url=site.url, timeout=10)
    form = client.get("/login")
    answer = client.post("/login", data={"csrf_token": csrf(form), "username": "siti", "password": PASSWORD})
    cookie = answer.headers["set-cookie"].lower()
    assert "dk_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie


def test_language_switch_and_no_open_redirect(site):
    client, _ = logged_in(site)
    assert "Pendaftaran awal hari ini" in client.get("/counter").text
    switched = client.get("/language?to=en&next=/counter")
    assert switched.url.path == "/counter" and "Today&#39;s pre-registrations" in switched.text
    away = httpx.get(site.url + "/language?to=en&next=//evil.example/")
    assert away.headers["location"] == "/counter"


def test_scan_open_tick_serve_and_export_over_http(lab, site):
    record_id, payload = deliver(lab, site)
    client, token = logged_in(site)
    page = client.post("/counter/find", data={"csrf_token": token, "code": payload})
    path = f"/counter/records/{lab.kiosk_id}/{record_id}"
    assert page.url.path == path and 'id="photo"' in page.text and 'id="signature"' in page.text
    client.post(path + "/documents", data={"csrf_token": token, "document": ["kk", "cover_letter"]})
    client.post(path + "/state", data={"csrf_token": token, "state": "checked"})
    page = client.post(path + "/state", data={"csrf_token": token, "state": "served"})
    assert 'class="state served"' in page.text and 'id="closed"' in page.text
    assert page.text.count("checked") >= 2  # both documents stay ticked
    export = client.get("/counter/export?format=csv")
    assert export.status_code == 200 and "WARGA PERCOBAAN 1" in export.text
    assert export.headers["content-disposition"].startswith("attachment")


def test_forged_and_garbage_scans_get_a_plain_sentence(lab, site, tmp_path):
    from kiosk.sealing import KioskIdentity

    client, token = logged_in(site)
    client.get("/language?to=en&next=/counter")
    sealed = lab.seal(lab.record(3))
    forged = encode_receipt_qr(sealed, KioskIdentity.load_or_create(tmp_path / "thief"))
    page = client.post("/counter/find", data={"csrf_token": token, "code": forged})
    assert page.status_code == 422 and "It is forged or was altered." in page.text
    page = client.post("/counter/find", data={"csrf_token": token, "code": "<script>alert(1)</script>"})
    assert page.status_code == 422 and "&lt;script&gt;" in page.text and "<script>alert" not in page.text


def test_a_usb_bundle_uploaded_in_the_browser_gives_the_signed_acknowledgement(lab, site, tmp_path):
    from kiosk.usb_export import apply_ack, export_bundle

    outbox = lab.outbox()
    ids = lab.enqueue(outbox, 3)
    usb = tmp_path / "usb"
    usb.mkdir()
    bundle = export_bundle(outbox, lab.identity, usb, kiosk_id=lab.kiosk_id)
    officer, officer_token = logged_in(site)
    refused = officer.post(
        "/bundles", data={"csrf_token": officer_token}, files={"bundle": bundle.open("rb")}
    )
    assert refused.status_code == 403  # supervisors only
    client, token = logged_in(site, "budi")
    for _ in range(2):  # importing the same bundle twice stores nothing twice
        answer = client.post("/bundles", data={"csrf_token": token}, files={"bundle": bundle.open("rb")})
        assert answer.status_code == 200 and answer.headers["content-disposition"].startswith("attachment")
    assert sorted(site.store.record_ids()) == sorted(ids)
    ack = usb / "carried-back.ack.json"
    ack.write_bytes(answer.content)
    apply_ack(outbox, ack, lab.keys.sign_public)
    assert {item.record_id for item in outbox.items("sent")} == set(ids)
    junk = client.post("/bundles", data={"csrf_token": token}, files={"bundle": ("x.tar", b"not a tar")})
    assert junk.status_code == 422 and "bukan paket" in junk.text
    outbox.close()
