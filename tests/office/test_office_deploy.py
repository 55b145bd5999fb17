"""The production topology as shipped: the systemd unit verifies, the nginx config loads, and through nginx
(TLS, its limits) 500 trickling connections do not hold up 10 kiosks, and its 413 is the service's word."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import trustme
from ingest_lab import IngestLab, ServiceProcess

from kiosk.sync import sync_once

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "scripts" / "systemd" / "dukcapil-office.service"
NGINX_CONF = REPO / "scripts" / "nginx" / "dukcapil-office.conf"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def test_the_systemd_unit_verifies(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here")
    # verify insists that ExecStart's binary exists: point it at a stand-in with the same name.
    stand_in = tmp_path / "venv" / "bin" / "dukcapil-office"
    stand_in.parent.mkdir(parents=True)
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(0o755)
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace("/opt/dukcapil-office/venv/bin/dukcapil-office", str(stand_in)))
    result = subprocess.run(
        [analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "Unknown" not in result.stderr and "Invalid" not in result.stderr, result.stderr
    assert "--no-migrate" in UNIT.read_text() and "LimitNOFILE=" in UNIT.read_text()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def nginx_in_front(tmp_path: Path, service_port: int):
    """The shipped nginx config (ports and certificate paths swapped) in front of the service."""
    if NGINX is None:
        pytest.skip("nginx is not installed here")
    tmp_path.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "server.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    port, plain_port = _free_port(), _free_port()
    site = (
        NGINX_CONF.read_text()
        .replace("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;")
        .replace("listen 80;", f"listen 127.0.0.1:{plain_port};")
        .replace("server 127.0.0.1:8080;", f"server 127.0.0.1:{service_port};")
        .replace("/etc/dukcapil-office/tls/fullchain.pem", str(tmp_path / "server.pem"))
        .replace("/etc/dukcapil-office/tls/privkey.pem", str(tmp_path / "server.pem"))
    )
    (tmp_path / "site.conf").write_text(site)
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / name).mkdir()
    temp_paths = "".join(
        f" {name}_temp_path {tmp_path}/{name};\n" for name in ("proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"user root;\ndaemon off;\nworker_processes 1;\npid {tmp_path}/nginx.pid;\n"
        f"error_log {tmp_path}/error.log;\nevents {{ worker_connections 4096; }}\n"
        f"http {{\n access_log off;\n client_body_temp_path {tmp_path}/body;\n{temp_paths}"
        f" include {tmp_path}/site.conf;\n}}\n"
    )
    check = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")])
    try:
        deadline = time.monotonic() + 20
        while True:  # until nginx accepts connections (or gave up)
            assert process.poll() is None, (tmp_path / "error.log").read_text()
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            assert time.monotonic() < deadline, "nginx did not start listening"
            time.sleep(0.05)
        yield f"https://127.0.0.1:{port}", tmp_path / "ca.pem"
    finally:
        process.terminate()
        process.wait(timeout=20)


def _labs(tmp_path: Path, count: int) -> list[IngestLab]:
    labs = [IngestLab.create(tmp_path / "lab0")]
    with labs[0].store() as store:
        for n in range(1, count):
            lab = IngestLab.create(tmp_path / f"lab{n}", kiosk_id=f"NGINX-TEST-{n:02d}")
            lab.keys = labs[0].keys
            store.enroll(lab.kiosk_id, lab.identity.verify_key_b64, lab.token)
            labs.append(lab)
    return labs


def test_through_nginx_500_trickling_connections_do_not_hold_up_10_kiosks(tmp_path):
    labs = _labs(tmp_path, 10)
    with (
        ServiceProcess(labs[0].server_db, labs[0].directory / "server.key") as service,
        nginx_in_front(tmp_path / "nginx", service.port) as (url, ca),
    ):
        host, port = "127.0.0.1", int(url.rsplit(":", 1)[-1])
        slow = [socket.create_connection((host, port), timeout=5) for _ in range(500)]
        stop = threading.Event()

        def trickle() -> None:
            # A TLS ClientHello that never completes, a byte at a time (the cheapest attack on a TLS port).
            hello = bytes.fromhex("16030100c8010000c40303") + bytes(200)
            for sent in range(len(hello)):
                if stop.is_set():
                    return
                for sock in slow:
                    with contextlib.suppress(OSError):
                        sock.send(hello[sent : sent + 1])
                stop.wait(0.05)

        trickler = threading.Thread(target=trickle)
        trickler.start()
        delivered: dict[str, bool] = {}

        def kiosk(lab: IngestLab) -> None:
            with lab.outbox() as outbox:
                lab.enqueue(outbox, 10)
                delivered[lab.kiosk_id] = (
                    sync_once(outbox, lab.client(url, ca_bundle=ca, timeout=10)).sent == 10
                )

        try:
            kiosks = [threading.Thread(target=kiosk, args=(lab,)) for lab in labs]
            for thread in kiosks:
                thread.start()
            for thread in kiosks:
                thread.join()
        finally:
            stop.set()
            trickler.join()
            for sock in slow:
                sock.close()
    assert delivered == {lab.kiosk_id: True for lab in labs}
    with labs[0].store() as store:
        assert store.count() == 100


def test_nginx_413_is_a_problem_document_the_kiosk_dead_letters(tmp_path):
    (lab,) = _labs(tmp_path, 1)
    with (
        ServiceProcess(lab.server_db, lab.directory / "server.key") as service,
        nginx_in_front(tmp_path / "nginx", service.port) as (url, ca),
        lab.outbox() as outbox,
    ):
        lab.enqueue(outbox, 1, photo_size=9 * 1024 * 1024)
        delivery = lab.client(url, ca_bundle=ca, timeout=30).post_record(outbox.claim_next())
    assert (delivery.outcome, delivery.status) == ("dead", 413)
    assert "body over 8 MB: too large" in delivery.reason  # nginx's words (the service says bytes)
