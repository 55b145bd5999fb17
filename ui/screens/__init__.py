"""One screen per journey step."""

from kiosk.journey import Step
from ui.screens.base import Screen
from ui.screens.checklist import ChecklistScreen
from ui.screens.choose import LanguageScreen, ServiceScreen
from ui.screens.form import DetailsScreen, IdentityScreen
from ui.screens.photo import PhotoScreen
from ui.screens.receipt import ReceiptScreen, SavingScreen
from ui.screens.review import ReviewScreen
from ui.screens.signature import SignatureScreen
from ui.screens.welcome import WelcomeScreen

#: The screen class of each step.
SCREENS: dict[Step, type[Screen]] = {
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

__all__ = ["SCREENS", "Screen"]
