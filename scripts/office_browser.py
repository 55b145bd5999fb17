"""A real browser on the office pages: Debian's chromium driven by Selenium, and a counter lab to point it at.

Used by the browser tests (``tests/office/web/test_browser.py``) and by ``scripts/office_screenshots.py``::

    with counter_lab(tmp_path) as lab:               # office service on loopback, users, a kiosk
        driver = chromium(tmp_path / "profile")      # headless, fresh profile, 1366 x 768
        log_in(driver, lab.url, "siti")
        payload = lab.kiosk_saves()                  # the kiosk's own registration, then sync
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import httpx
from ingest_lab import IngestLab
from PIL import Image, ImageDraw

from hal.events import EventQueue
from kiosk.journey import CONSENT_VERSION, SaveRequest
from kiosk.outbox import Outbox
from kiosk.records import PenPoint, SignatureCapture
from kiosk.registration import Registration
from kiosk.services import load_services
from kiosk.sync import sync_once
from office.accounts import Accounts
from office.server import OfficeServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PASSWORD = "correct horse battery"
FACE = Path(__file__).resolve().parents[1] / "hal" / "camera" / "faces" / "astronaut.png"
KIOSK_ID = "BMT-MODAYAG-01"


def browser_missing() -> str | None:
    """Why the browser tests cannot run here (None: they can)."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists() and not shutil.which(path.name):
            return f"{path} is missing: apt-get install chromium chromium-driver"
    return None


def chromium(profile: Path, size: tuple[int, int] = (1366, 768)):  # -> selenium WebDriver
    """Headless chromium with a fresh profile, no network chatter, at an office PC's screen size."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size={size[0]},{size[1]}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    return driver


def log_in(driver, url: str, username: str, password: str = PASSWORD) -> None:
    """Fill the login form and submit it, as an officer would."""
    from selenium.webdriver.common.by import By

    driver.get(url + "/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password)
    submit(driver, driver.find_element(By.ID, "login").click)


def submit(driver, action) -> None:
    """Do ``action`` (a click, Enter in a field) and wait until the browser has loaded the next page.

    Waits on the old page going stale (an event the browser reports), not on a time.
    """
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old = driver.find_element("tag name", "html")
    action()
    WebDriverWait(driver, 20).until(expected_conditions.staleness_of(old))
    WebDriverWait(driver, 20).until(lambda d: d.execute_script("return document.readyState") == "complete")


def face_jpeg() -> bytes:
    """The public-domain face photo (NASA's astronaut) as the kiosk's camera would store it."""
    out = io.BytesIO()
    Image.open(FACE).convert("RGB").resize((300, 400)).save(out, "JPEG", quality=85)
    return out.getvalue()


def signature() -> SignatureCapture:
    """A pen signature with its rendered PNG."""
    points = [
        PenPoint(i * 0.02, 40 + i * 9, 120 + int(40 * ((i % 8) - 4) / 4), i % 15 != 14) for i in range(60)
    ]
    image = Image.new("RGB", (640, 240), "white")
    draw = ImageDraw.Draw(image)
    draw.line([(p.x, p.y) for p in points], fill="black", width=4)
    png = io.BytesIO()
    image.save(png, "PNG")
    return SignatureCapture(samples=tuple(points), width=640, height=240, png=png.getvalue(), source="pad")


@dataclass
class CounterLab:
    """The office service with its pages, two staff accounts and one enrolled kiosk."""

    lab: IngestLab
    server: OfficeServer
    accounts: Accounts

    @property
    def url(self) -> str:
        return self.server.url

    def kiosk_saves(
        self, name: str = "SITI AMINAH MOKODOMPIT", *, deliver: bool = True, captured_at: float | None = None
    ) -> str:
        """A citizen confirms at the kiosk: the kiosk's own registration seals and commits the record, and
        (when ``deliver``) its sync sends it to the office. Returns the receipt's QR payload.

        Args:
            name: the citizen's full name.
            deliver: send it to the office now (False: it waits in the kiosk's outbox, network down).
            captured_at: the kiosk's clock at the capture (default: now).
        """
        fields = {
            "nik": "7110045708900001",
            "kk_number": "7110041203150002",
            "full_name": name,
            "sex": "female",
            "birth_place": "Modayag",
            "birth_date": "1990-08-17",
            "marital_status": "single",
            "kecamatan": "71.10.04",
            "address": "Jl. Trans Sulawesi, RT 01",
        }
        request = SaveRequest(
            service=load_services().get("ektp"),
            language="id",
            fields=MappingProxyType(fields),
            photo_jpeg=face_jpeg(),
            photo_note=None,
            signature=signature(),
            consent_given=True,
            consent_version=CONSENT_VERSION,
            consent_at=time.time(),
            offline=not deliver,
        )
        with Outbox(self.lab.outbox_path) as outbox:
            registration = Registration(
                outbox=outbox,
                identity=self.lab.identity,
                server_public_key=self.lab.keys.box_public,
                kiosk_id=self.lab.kiosk_id,
                events=EventQueue(),
                clock=(lambda: captured_at) if captured_at is not None else time.time,
            )
            saved = registration.register(request)
            registration.close()
            # Not delivered: the record waits in the kiosk's outbox, as on a kiosk whose network is down.
            if deliver:
                assert sync_once(outbox, self.lab.client(self.url)).sent >= 1
        return saved.qr_payload

    def heartbeat(self, snapshot: dict) -> dict:
        """The kiosk's heartbeat through the real endpoint; the office's answer."""
        answer = httpx.post(
            self.url + "/v1/heartbeat",
            content=json.dumps(snapshot),
            headers={"Authorization": f"Bearer {self.lab.token}", "X-Kiosk-Id": self.lab.kiosk_id},
            timeout=10,
        )
        answer.raise_for_status()
        return answer.json()


@contextlib.contextmanager
def counter_lab(directory: Path) -> Iterator[CounterLab]:
    """A :class:`CounterLab` serving on a loopback port for the ``with`` block."""
    lab = IngestLab.create(Path(directory) / "lab", kiosk_id=KIOSK_ID)
    with lab.server() as server:
        accounts = Accounts(server.store.engine)
        accounts.create_user("siti", "Siti Mokodompit", "officer", PASSWORD)
        accounts.create_user("budi", "Budi Paputungan", "supervisor", PASSWORD)
        yield CounterLab(lab, server, accounts)
