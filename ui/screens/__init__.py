"""One screen per journey step.

:data:`SCREENS` is made on first use (PEP 562): the first welcome frame imports ``ui.screens.welcome``, and a
package that imported every screen on the way would make it wait for the form, photo, signature and receipt
screens and everything they import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk.steps import Step
    from ui.screens.base import Screen

    #: The screen class of each step.
    SCREENS: dict[Step, type[Screen]]


def _screens() -> dict[Step, type[Screen]]:
    from kiosk.steps import Step
    from ui.screens.checklist import ChecklistScreen
    from ui.screens.choose import LanguageScreen, ServiceScreen
    from ui.screens.form import DetailsScreen, IdentityScreen
    from ui.screens.photo import PhotoScreen
    from ui.screens.receipt import ReceiptScreen, SavingScreen
    from ui.screens.review import ReviewScreen
    from ui.screens.signature import SignatureScreen
    from ui.screens.welcome import WelcomeScreen

    return {
        Step.WELCOME: WelcomeScreen,
        Step.LANGUAGE: LanguageScreen,
        Step.SERVICE: ServiceScreen,
        Step.CHECKLIST: ChecklistScreen,
        Step.IDENTITY: IdentityScreen,
        Step.DETAILS: DetailsScreen,
        Step.PHOTO: PhotoScreen,
        Step.SIGNATURE: SignatureScreen,
        Step.REVIEW: ReviewScreen,
        Step.SAVING: SavingScreen,
        Step.RECEIPT: ReceiptScreen,
    }


def __getattr__(name: str) -> object:
    """``SCREENS`` and ``Screen``, imported the first time they are asked for."""
    if name == "SCREENS":
        value: object = _screens()
    elif name == "Screen":
        from ui.screens.base import Screen

        value = Screen
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


__all__ = ["SCREENS", "Screen"]
