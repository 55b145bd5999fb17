"""A throw-away PostgreSQL server for tests and benchmarks: Debian's binaries, a temp directory, a free port.

::

    with TempPostgres() as pg:                # initdb + pg_ctl start (as the postgres user when root)
        url = pg.create_database("store_1")   # postgresql://postgres@127.0.0.1:PORT/store_1

PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` system user (``runuser``)
in a directory it owns. ``DUKCAPIL_TEST_POSTGRES_URL`` (an admin URL of a running server, e.g. one CI
started) is used instead when set. :func:`unavailable` says in words why no server can be had here.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

ENV_URL = "DUKCAPIL_TEST_POSTGRES_URL"


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory (Debian layout), if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    return Path(found[-1]).parent if found else None


def unavailable() -> str | None:
    """Why no PostgreSQL can be started or reached here, or None when one can."""
    if os.environ.get(ENV_URL):
        return None
    if postgres_bin() is None:
        return "PostgreSQL is not installed (apt-get install postgresql)"
    if os.geteuid() == 0 and (shutil.which("runuser") is None or _uid("postgres") is None):
        return "running as root without a postgres user to run the server as"
    return None


def _uid(name: str) -> int | None:
    import pwd

    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TempPostgres:
    """A PostgreSQL server in a temporary directory, or the one ``DUKCAPIL_TEST_POSTGRES_URL`` names."""

    def __init__(self) -> None:
        self._external = os.environ.get(ENV_URL)
        self._dir: Path | None = None
        self.port = 0

    @property
    def admin_url(self) -> str:
        """URL of the ``postgres`` database as superuser."""
        return self._external or f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        if os.geteuid() == 0:
            command = ("runuser", "-u", "postgres", "--", *command)
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> TempPostgres:
        """Create and start the server (nothing to do for an external one).

        Raises:
            RuntimeError: PostgreSQL cannot be started here (:func:`unavailable` says why).
        """
        if self._external:
            return self
        reason = unavailable()
        if reason:
            raise RuntimeError(reason)
        bin_dir = postgres_bin()
        assert bin_dir is not None
        self._dir = Path(tempfile.mkdtemp(prefix="office-pg-"))
        if os.geteuid() == 0:
            uid = _uid("postgres")
            assert uid is not None
            os.chown(self._dir, uid, -1)
        data = self._dir / "data"
        self._run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.port = _free_port()
        options = (
            f"-p {self.port} -k {self._dir} -c listen_addresses=127.0.0.1 -c max_connections=300 "
            # A test server: durability against an OS crash is not what is tested here (the service's own
            # commit-before-receipt is, and a killed service process never loses a committed row).
            "-c fsync=off -c full_page_writes=off"
        )
        self._run(
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(self._dir / "log"),
            "-w",
            "start",
        )
        return self

    def stop(self) -> None:
        """Stop the server and remove its directory (idempotent)."""
        if self._dir is None:
            return
        bin_dir = postgres_bin()
        assert bin_dir is not None
        try:
            self._run(str(bin_dir / "pg_ctl"), "-D", str(self._dir / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> TempPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = name or f"office_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(
            self.admin_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        base, _, _ = self.admin_url.rpartition("/")
        return f"{base}/{name}"
