"""Settings of each device, as typed structs that the kiosk's config file is decoded into.

They live in hal/ so that the hardware layer owns the meaning of its own settings while the
kiosk's config (kiosk/config.py) only composes them. Every struct rejects unknown keys.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

Seconds = Annotated[float, msgspec.Meta(gt=0, le=3600)]
Pin = Annotated[int, msgspec.Meta(ge=0, le=27)]
Size = tuple[Annotated[int, msgspec.Meta(ge=16, le=8192)], Annotated[int, msgspec.Meta(ge=16, le=8192)]]


class Settings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every settings struct: strict about keys, keyword-only."""


class CameraSettings(Settings):
    """``[camera]``: which camera drives the photo step and how."""

    backend: Literal["auto", "picamera2", "opencv", "simulated", "none"] = "auto"
    #: OpenCV ``VideoCapture`` index (``/dev/videoN``) for a USB webcam.
    device: Annotated[int, msgspec.Meta(ge=0, le=63)] = 0
    preview_size: Size = (640, 480)
    still_size: Size = (1280, 960)
    capture_timeout_s: Seconds = 5.0
    jpeg_quality: Annotated[int, msgspec.Meta(ge=50, le=100)] = 90
    #: Preview frames per second; fewer frames leave CPU for the UI and the face check on a Pi.
    preview_fps: Annotated[float, msgspec.Meta(ge=1, le=60)] = 15.0
    #: After a failure the preview reopens the camera after this delay, doubling up to the maximum.
    reconnect_initial_s: Seconds = 1.0
    reconnect_max_s: Seconds = 30.0
    #: Simulated camera: a face image to show (PNG/JPEG); empty = the bundled public-domain face,
    #: ``"synthetic"`` = a moving test pattern without a face.
    simulated_image: str = ""
    #: Simulated camera: a fault switched on from the start.
    simulated_fault: Literal["none", "hang", "disconnect", "black"] = "none"


class SignaturePadSettings(Settings):
    """``[signature_pad]``: the serial signature pad."""

    backend: Literal["auto", "serial", "simulated", "none"] = "auto"
    port: str = "/dev/signature-pad"
    protocol: Literal["topaz", "isdv4"] = "topaz"
    baudrate: Literal[9600, 19200, 38400, 57600, 115200] = 19200
    reconnect_initial_s: Seconds = 0.5
    reconnect_max_s: Seconds = 10.0
    #: Simulated pad: a fault switched on from the start.
    simulated_fault: Literal["none", "unplugged", "garbage"] = "none"


class PowerSettings(Settings):
    """``[power]``: the UPS HAT and its fuel gauge.

    A preset fills in the pins of a known HAT; any pin given here overrides it.
    """

    backend: Literal["auto", "gpio", "simulated", "none"] = "auto"
    preset: Literal["x728", "x729", "x120x", "custom"] = "x728"
    mains_pin: Pin | None = None
    #: True when the mains pin reads HIGH on mains loss (X728/X729), False when HIGH means mains OK (X120x).
    mains_lost_when_high: bool | None = None
    button_pin: Pin | None = None
    power_cut_pin: Pin | None = None
    fuel_gauge: bool = True
    i2c_bus: Annotated[int, msgspec.Meta(ge=0, le=32)] = 1
    i2c_address: Annotated[int, msgspec.Meta(ge=0x03, le=0x77)] = 0x36
    low_battery_percent: Annotated[float, msgspec.Meta(ge=1, le=90)] = 20.0
    poll_interval_s: Seconds = 5.0
    #: Simulated UPS: start on battery, and at this charge.
    simulated_on_battery: bool = False
    simulated_battery_percent: Annotated[float, msgspec.Meta(ge=0, le=100)] = 100.0
    #: Simulated UPS: charge lost per minute while on battery (0 = the charge holds until changed).
    simulated_discharge_percent_per_min: Annotated[float, msgspec.Meta(ge=0, le=100)] = 0.0

    def __post_init__(self) -> None:
        if self.preset == "custom" and self.mains_pin is None:
            raise ValueError("preset 'custom' needs mains_pin")


class PrinterSettings(Settings):
    """``[printer]``: the ESC/POS thermal receipt printer."""

    backend: Literal["auto", "serial", "usb", "simulated", "none"] = "auto"
    #: Serial port of a serial printer.
    port: str = "/dev/receipt-printer"
    baudrate: Literal[9600, 19200, 38400, 57600, 115200] = 19200
    #: Character device of a USB printer-class printer.
    usb_device: str = "/dev/usb/lp0"
    #: Printable width in dots: 384 for 58 mm paper, 576 for 80 mm paper.
    paper_width_dots: Literal[384, 576] = 384
    #: python-escpos printer profile (code pages, cutter, native QR); "default" suits most printers.
    profile: str = "default"
    #: Ask the printer for its status (DLE EOT) before each receipt; false for printers that never answer.
    check_status: bool = True
    #: Simulated printer: where receipt PNGs go; empty = ``<data_dir>/receipts``.
    output_dir: str = ""
    simulated_fault: Literal["none", "offline", "paper_out"] = "none"
