"""The kiosk's configuration: one TOML file, decoded into typed, strict structs.

A wrong key, type or value is reported as a :class:`ConfigError` whose message names the key and
what is allowed; the CLI prints it on one line and exits with status 2. See ``config.example.toml``
for every key with its meaning.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from hal.settings import (
    CameraSettings,
    PowerSettings,
    PrinterSettings,
    Seconds,
    Settings,
    SignaturePadSettings,
)
from kiosk import strict_toml

#: Where the installer puts the config file on a kiosk.
DEFAULT_CONFIG_PATH = Path("/etc/dukcapil-kiosk/config.toml")
#: Environment variable naming a config file, used when ``--config`` is not given.
CONFIG_ENV = "KIOSK_CONFIG"


class ConfigError(ValueError):
    """The config file cannot be used; the message says which key and what is allowed."""


class KioskSettings(Settings):
    """``[kiosk]``: who this kiosk is and where it keeps its data."""

    #: Kiosk identity sent to the server, e.g. ``"BMT-MODAYAG-01"``.
    id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")] = "KIOSK-DEV-01"
    #: Outbox, keys, audit log and metrics live here (its own journaled partition on a Pi).
    data_dir: str = "~/.local/share/dukcapil-kiosk"
    #: Language the welcome screen starts in.
    language: Literal["id", "en"] = "id"
    #: Regency (kabupaten/kota) code of the office, ``PP.RR``; the kecamatan list is taken from it.
    regency: Annotated[str, msgspec.Meta(pattern=r"^\d{2}\.\d{2}$")] = "71.10"
    #: Directory of service definition files; empty = the services shipped with the firmware.
    services_dir: str = ""

    @property
    def data_path(self) -> Path:
        """``data_dir`` with ``~`` expanded."""
        return Path(self.data_dir).expanduser()


class ServerSettings(Settings):
    """``[server]``: the registry ingest server."""

    url: Annotated[str, msgspec.Meta(pattern=r"^https?://[^\s/]+")] = "https://127.0.0.1:8443"
    #: Bearer token of this kiosk; prefer ``token_file`` (mode 0600) on a real kiosk.
    token: str = ""
    token_file: str = ""
    #: The server's Curve25519 public key (base64) that records are sealed to.
    public_key: str = ""
    #: The server's Ed25519 verify key (base64) that signs USB acknowledgement files (kiosk outbox ack).
    ack_verify_key: str = ""
    verify_tls: bool = True
    #: PEM bundle of the CA that signed the server's certificate; empty = system store.
    ca_bundle: str = ""
    timeout_s: Seconds = 15.0

    #: A lab or test bench: plain ``http://`` and ``verify_tls = false`` are allowed (never on a real kiosk).
    lab: bool = False

    def __post_init__(self) -> None:
        if self.token and self.token_file:
            raise ValueError("give token or token_file, not both")
        if not self.lab and self.url.startswith("http://"):
            raise ValueError("url must be https:// (plain http:// only with lab = true)")
        if not self.lab and not self.verify_tls:
            raise ValueError("verify_tls = false is only allowed with lab = true")


class SyncSettings(Settings):
    """``[sync]``: how the outbox reaches the server."""

    backoff_initial_s: Seconds = 2.0
    backoff_max_s: Seconds = 300.0
    #: How often the worker looks again when nothing woke it.
    poll_interval_s: Seconds = 60.0
    heartbeat_interval_s: Seconds = 300.0
    #: Sent records are purged after this many days (the server's receipt is kept until then).
    retention_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 30


class OutboxSettings(Settings):
    """``[outbox]``: how much of the data partition the queue of sealed records may take.

    The outbox never fills the partition: beyond ``max_size_mb`` a save is refused with a clear message, and
    the kiosk stops starting new sessions ``session_headroom_mb`` before that, so a citizen is never turned
    away after typing everything. What is left of the partition keeps room for the write-ahead log and its
    checkpoint, the maintenance store, keys and logs.
    """

    #: Largest size of the outbox database, in MiB; 0 = derived from the data partition when the outbox
    #: opens: its free space plus what the outbox already holds, less a reserve of a quarter of the partition
    #: (at least 1 MiB, at most 256 MiB) for the write-ahead log, its checkpoint and the maintenance store.
    max_size_mb: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    #: New sessions are refused when less than this is left below the limit (a record with its photo and
    #: signature takes well under 1 MiB; several citizens may be saving at once).
    session_headroom_mb: Annotated[float, msgspec.Meta(gt=0)] = 4.0


class UiSettings(Settings):
    """``[ui]``: the touchscreen."""

    fullscreen: bool = True
    #: Window size when not fullscreen (or 0 x 0 = the display's own size when fullscreen).
    size: tuple[Annotated[int, msgspec.Meta(ge=0, le=7680)], Annotated[int, msgspec.Meta(ge=0, le=4320)]] = (
        1280,
        800,
    )
    high_contrast: bool = False
    #: Seconds without a touch before "need more time?", and then before everything is wiped.
    idle_warning_s: Seconds = 60.0
    idle_reset_s: Seconds = 30.0
    #: A TrueType/OpenType font to use; empty = the best one found on the system.
    font: str = ""


class PowerPolicySettings(PowerSettings):
    """``[power]``: the UPS HAT (see :class:`hal.settings.PowerSettings`) and what to do on battery."""

    #: Battery charge a whole citizen session uses: on battery, a new session starts only while the charge
    #: is at least ``low_battery_percent`` (where the shutdown begins) plus this.
    session_reserve_percent: Annotated[float, msgspec.Meta(ge=0, le=100)] = 10.0
    #: Time the citizen in front gets to finish once the battery is low.
    finish_grace_s: Seconds = 120.0
    shutdown_command: list[str] = msgspec.field(default_factory=lambda: ["systemctl", "poweroff"])


class MaintenanceSettings(Settings):
    """``[maintenance]``: the technician's mode."""

    idle_exit_s: Seconds = 300.0
    max_pin_failures: Annotated[int, msgspec.Meta(ge=1, le=20)] = 5
    lockout_initial_s: Seconds = 60.0
    #: Time between two samples of queue depth and battery for the maintenance chart (kept 7 days).
    metrics_interval_s: Seconds = 300.0
    #: Commands behind the maintenance screen's "restart the app" and "reboot" (shut down uses
    #: ``[power] shutdown_command``); the installer's polkit rule lets the kiosk user run exactly these.
    restart_command: Annotated[list[str], msgspec.Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: ["systemctl", "restart", "--no-block", "dukcapil-kiosk.service"]
    )
    reboot_command: Annotated[list[str], msgspec.Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: ["systemctl", "reboot"]
    )


class Config(Settings):
    """The whole config file."""

    kiosk: KioskSettings = msgspec.field(default_factory=KioskSettings)
    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    sync: SyncSettings = msgspec.field(default_factory=SyncSettings)
    outbox: OutboxSettings = msgspec.field(default_factory=OutboxSettings)
    ui: UiSettings = msgspec.field(default_factory=UiSettings)
    camera: CameraSettings = msgspec.field(default_factory=CameraSettings)
    signature_pad: SignaturePadSettings = msgspec.field(default_factory=SignaturePadSettings)
    power: PowerPolicySettings = msgspec.field(default_factory=PowerPolicySettings)
    printer: PrinterSettings = msgspec.field(default_factory=PrinterSettings)
    maintenance: MaintenanceSettings = msgspec.field(default_factory=MaintenanceSettings)

    @property
    def data_path(self) -> Path:
        """The data directory with ``~`` expanded."""
        return self.kiosk.data_path

    def simulated(self) -> Config:
        """A copy with every device that is not switched off on its simulated backend."""
        changes = {}
        for section in ("camera", "signature_pad", "power", "printer"):
            settings = getattr(self, section)
            if settings.backend != "none":
                changes[section] = msgspec.structs.replace(settings, backend="simulated")
        return msgspec.structs.replace(self, **changes)


def parse_config(text: str | bytes, source: str = "<config>") -> Config:
    """Decode TOML text into a :class:`Config`, raising :class:`ConfigError` on any problem."""
    try:
        return strict_toml.decode(text, Config, source)
    except strict_toml.StrictTomlError as exc:
        raise ConfigError(str(exc)) from None


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load the config from ``path``, else ``$KIOSK_CONFIG``, else the installed file, else defaults."""
    if path is None:
        env = os.environ.get(CONFIG_ENV)
        if env:
            path = env
        elif DEFAULT_CONFIG_PATH.exists():
            path = DEFAULT_CONFIG_PATH
        else:
            return Config()
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    return parse_config(data, str(path))
