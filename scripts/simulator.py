"""The desktop simulator: the office service on loopback and the kiosk with simulated devices.

``scripts/kiosk-sim`` runs this. It keeps everything under ``var/simulator/``:

- ``server/``: the office service's key file and database (SQLite), with this kiosk enrolled;
- ``kiosk/``: the kiosk's data directory (outbox, keys, maintenance database, receipt PNGs);
- ``kiosk.toml``: the kiosk's config, pointing at the server with its public key and the kiosk's token.

Records the simulated citizens confirm go through the real outbox and sync worker to the real server, so
``dukcapil-office status --db var/simulator/server/server.sqlite3`` shows them arriving.
Arguments after the script's own go to ``kiosk run``.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import subprocess
import sys
from pathlib import Path

from kiosk.sealing import KioskIdentity
from office.app import Settings
from office.keys import ServerKeys
from office.server import OfficeServer
from office.store import Store
from office.web.commands import first_officer

ROOT = Path(__file__).resolve().parents[1]
KIOSK_ID = "SIM-KIOSK-01"

log = logging.getLogger("simulator")


def prepare(base: Path) -> tuple[ServerKeys, str]:
    """Server keys, the kiosk's key and its enrolment: made once, reused on later runs."""
    server_dir, data_dir = base / "server", base / "kiosk"
    server_dir.mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_file = server_dir / "server.key"
    if not key_file.exists():
        ServerKeys.generate().save(key_file)
    keys = ServerKeys.load(key_file)
    token_file = server_dir / "kiosk-token"
    if not token_file.exists():
        token_file.write_text(secrets.token_urlsafe(24) + "\n", encoding="ascii")
        token_file.chmod(0o600)
    token = token_file.read_text(encoding="ascii").strip()
    identity = KioskIdentity.load_or_create(data_dir / "keys")
    with Store.open(server_dir / "server.sqlite3", keys) as store:
        store.enroll(KIOSK_ID, identity.verify_key_b64, token, actor="simulator")
    return keys, token


def parse_size(text: str) -> tuple[int, int]:
    """``WIDTHxHEIGHT`` (e.g. ``800x480``) as a pair of pixels; argparse reports a bad value in one line."""
    width, sep, height = text.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit() or int(width) < 320 or int(height) < 240:
        raise argparse.ArgumentTypeError(f"{text!r}: give the window size as WIDTHxHEIGHT, e.g. 800x480")
    return int(width), int(height)


def write_config(
    base: Path, server_url: str, keys: ServerKeys, token: str, size: tuple[int, int] = (1280, 800)
) -> Path:
    """The kiosk's config for this run (the server's port changes from run to run)."""
    path = base / "kiosk.toml"
    path.write_text(
        "# Written by scripts/simulator.py for the desktop simulator; rewritten on every run.\n"
        f'[kiosk]\nid = "{KIOSK_ID}"\ndata_dir = "{base / "kiosk"}"\nlanguage = "id"\nregency = "71.10"\n\n'
        f'[server]\nurl = "{server_url}"\ntoken = "{token}"\npublic_key = "{keys.box_public}"\n'
        f'ack_verify_key = "{keys.sign_public}"\nverify_tls = false\nlab = true\n\n'
        "[sync]\nbackoff_initial_s = 1.0\nbackoff_max_s = 30.0\nheartbeat_interval_s = 60.0\n\n"
        f"[ui]\nfullscreen = false\nsize = [{size[0]}, {size[1]}]\n",
        encoding="utf-8",
    )
    return path


def main(argv: list[str] | None = None) -> int:
    """Start the server, then the kiosk; stop the server when the kiosk ends."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dir", type=Path, default=ROOT / "var" / "simulator", help="where to keep its files"
    )
    parser.add_argument(
        "--size",
        type=parse_size,
        default=(1280, 800),
        help="window size WIDTHxHEIGHT, e.g. 800x480 for the 7-inch panel (default 1280x800)",
    )
    args, kiosk_args = parser.parse_known_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    base = args.dir.resolve()
    keys, token = prepare(base)
    settings = Settings(database=base / "server" / "server.sqlite3", keys=keys)
    with OfficeServer(settings).running() as server:
        config = write_config(base, server.url, keys, token, args.size)
        log.info("office service on %s; kiosk config %s", server.url, config)
        officer, password = first_officer(settings.database, base / "server" / "officer-password")
        print(f"counter page: {server.url}/counter  (log in as {officer}, password {password})", flush=True)
        log.info("to stop the simulator: close its window, or press Ctrl+C here")
        command = [sys.executable, "-m", "kiosk", "run", "--simulate", "--config", str(config), *kiosk_args]
        try:
            return subprocess.run(command, check=False).returncode
        except KeyboardInterrupt:
            return 130


if __name__ == "__main__":
    sys.exit(main())
