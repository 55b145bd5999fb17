"""Widgets with stable ids: what screens are built from and what the test pilot taps."""

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
