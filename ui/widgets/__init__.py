"""Widgets with stable ids: what screens are built from and what the test pilot taps.

Each widget is imported from this package on first use (PEP 562): the first welcome frame needs a button, a
label, a panel, a stack and the status bar, and must not wait for the signature canvas (which imports the
record types, and through them the storage library) or the keyboard, the QR code and the camera view.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

#: Where each widget lives: name -> module.
_WHERE = {
    "Container": "ui.widgets.base",
    "Kit": "ui.widgets.base",
    "Widget": "ui.widgets.base",
    "Button": "ui.widgets.button",
    "share_text_size": "ui.widgets.button",
    "CameraView": "ui.widgets.camera_view",
    "Dialog": "ui.widgets.dialog",
    "Checkbox": "ui.widgets.image",
    "Picture": "ui.widgets.image",
    "Keyboard": "ui.widgets.keyboard",
    "Label": "ui.widgets.label",
    "Panel": "ui.widgets.label",
    "ListPicker": "ui.widgets.list_picker",
    "ProgressSteps": "ui.widgets.progress",
    "Spinner": "ui.widgets.progress",
    "QrCode": "ui.widgets.qr",
    "SignatureCanvas": "ui.widgets.signature_canvas",
    "Stack": "ui.widgets.stack",
    "StatusBar": "ui.widgets.status_bar",
    "TextField": "ui.widgets.text_field",
}

if TYPE_CHECKING:
    from ui.widgets.base import Container, Kit, Widget
    from ui.widgets.button import Button, share_text_size
    from ui.widgets.camera_view import CameraView
    from ui.widgets.dialog import Dialog
    from ui.widgets.image import Checkbox, Picture
    from ui.widgets.keyboard import Keyboard
    from ui.widgets.label import Label, Panel
    from ui.widgets.list_picker import ListPicker
    from ui.widgets.progress import ProgressSteps, Spinner
    from ui.widgets.qr import QrCode
    from ui.widgets.signature_canvas import SignatureCanvas
    from ui.widgets.stack import Stack
    from ui.widgets.status_bar import StatusBar
    from ui.widgets.text_field import TextField


def __getattr__(name: str) -> object:
    """Import the widget ``name`` from its module the first time it is asked for."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


__all__ = [
    "Button",
    "CameraView",
    "Checkbox",
    "Container",
    "Dialog",
    "Keyboard",
    "Kit",
    "Label",
    "ListPicker",
    "Panel",
    "Picture",
    "ProgressSteps",
    "QrCode",
    "SignatureCanvas",
    "Spinner",
    "Stack",
    "StatusBar",
    "TextField",
    "Widget",
    "share_text_size",
]
