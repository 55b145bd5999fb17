"""Restart the kiosk app, restart the computer, shut it down: each after a confirmation, through the session.

The commands are the configured ones (:class:`kiosk.maintenance.SystemCommands`); the session audits the
request before it runs them (once they work this process may never write another line) and prepares a
reboot or shutdown by checkpointing the databases. A command that fails is shown with its error output, and
the kiosk keeps serving.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pygame

from kiosk.maintenance.session import CommandFailed
from ui.maintenance.i18n import M_
from ui.maintenance.pages.base import Page, text
from ui.maintenance.widgets import ProgressBar
from ui.widgets import Button, Dialog, Panel, Widget

LABEL = M_("Power")
CANCEL = M_("Cancel")
FAILED = M_("It did not work: {reason}")
#: A command that ran and refused, in the technician's words; the system's own words follow, quoted.
REFUSED = M_("{program} refused (exit status {status}).")
NOT_RUN = M_("The system could not run {program}.")
SYSTEM_SAYS = M_("The system says (in English): “{output}”")
ASKED = M_("Asked. The screen goes dark in a moment.")
WORKING = M_("Asking the system…")


@dataclass(frozen=True)
class Command:
    """One of the page's commands and its words."""

    key: str
    title: str
    about: str
    confirm_title: str
    confirm_body: str
    confirm: str


COMMANDS = (
    Command(
        "restart",
        M_("Restart the kiosk app"),
        M_(
            "Starts the kiosk software again (about 20 seconds). Saved records are kept; a citizen "
            "session in progress is lost."
        ),
        M_("Restart the kiosk app?"),
        M_("The screen goes blank and the kiosk comes back in about 20 seconds."),
        M_("Restart the app"),
    ),
    Command(
        "reboot",
        M_("Restart the computer"),
        M_(
            "Restarts the whole kiosk computer (about a minute). Use it when a device still fails after "
            "restarting the app."
        ),
        M_("Restart the computer?"),
        M_("The kiosk is unavailable for about a minute."),
        M_("Restart the computer"),
    ),
    Command(
        "shutdown",
        M_("Shut down"),
        M_("Switches the kiosk off safely. Someone must switch it on again at the kiosk."),
        M_("Shut the kiosk down?"),
        M_("Nobody can use the kiosk until it is switched on again by hand."),
        M_("Shut down"),
    ),
)


class PowerPage(Page):
    """The restart and power page (see the module docstring)."""

    key = "power"
    label = LABEL

    def __init__(self, scene) -> None:
        super().__init__(scene)
        self.confirming: Command | None = None

    def ask(self, command: Command) -> None:
        """Show the confirmation of ``command``."""
        self.confirming = command
        self.changed()

    def cancel(self) -> None:
        """Close the confirmation without doing anything."""
        self.confirming = None
        self.changed()

    def run(self) -> None:
        """Run the confirmed command on a worker thread (the session audits it)."""
        command, self.confirming = self.confirming, None
        if command is None:
            return
        session = self.mode.session
        action: Callable[[], None] = {
            "restart": session.restart,
            "reboot": session.reboot,
            "shutdown": session.shut_down,
        }[command.key]
        self.scene.start_job(self.scene.job(f"power.{command.key}"), lambda progress: action())

    def leave(self) -> None:
        self.confirming = None

    def build(self, area: pygame.Rect) -> list[Widget]:
        kit, m, tr = self.kit, self.kit.metrics, self.tr
        widgets: list[Widget] = []
        gap = m.px(12)
        busy = any(self.scene.job(f"power.{c.key}").running for c in COMMANDS)
        small_h = kit.text.line_height(m.text_small)
        heights = self._card_heights(area, gap)
        y = area.y
        for command, row_h in zip(COMMANDS, heights, strict=True):
            rect = pygame.Rect(area.x, y, area.width, row_h)
            button_w = min(m.px(260), rect.width // 3)
            pad = m.px(14)
            inner_w = rect.width - button_w - 3 * pad
            children: list[Widget] = []
            job = self.scene.job(f"power.{command.key}")
            words, tone = self._about(command)
            about_top = rect.y + pad
            if row_h >= self._needed(words, inner_w, titled=True):
                title = text(
                    f"power.{command.key}.title",
                    kit,
                    rect.x + pad,
                    rect.y + pad,
                    inner_w,
                    tr(command.title),
                    role="button",
                    bold=True,
                )
                children.append(title)
                about_top = title.rect.bottom + m.px(4)
            # else the button beside it says the same: the whole description is worth more than the title.
            children.append(
                text(
                    f"power.{command.key}.about",
                    kit,
                    rect.x + pad,
                    about_top,
                    inner_w,
                    words,
                    role="small",
                    tone=tone,
                    # As many lines as the card holds: the cards are sized to hold the whole description.
                    max_lines=max(1, (rect.bottom - m.px(6) - about_top) // small_h),
                )
            )
            if job.running:
                children.append(
                    ProgressBar(
                        f"power.{command.key}.progress",
                        (rect.right - pad - button_w, rect.centery - m.px(8), button_w, m.px(16)),
                        kit,
                        None,
                    )
                )
            else:
                children.append(
                    Button(
                        f"power.{command.key}",
                        (rect.right - pad - button_w, rect.centery - m.touch // 2, button_w, m.touch),
                        kit,
                        tr(command.title),
                        lambda command=command: self.ask(command),
                        style="secondary",
                        enabled=not busy,
                    )
                )
            widgets.append(
                Panel(
                    f"power.{command.key}.card",
                    rect,
                    kit,
                    children,
                    tone="error" if job.error is not None else "normal",
                )
            )
            y += row_h + gap
        return widgets

    def _about(self, command: Command) -> tuple[str, str]:
        """What the card says under its title, and in which tone: the description, or how the job went."""
        tr, job = self.tr, self.scene.job(f"power.{command.key}")
        if job.running:
            return tr(WORKING), "normal"
        if job.error is not None:
            return self._failure(job.error), "error"
        if job.state == "done":
            return tr(ASKED), "success"
        return tr(command.about), "muted"

    def _failure(self, error: BaseException) -> str:
        """Why a command did not work: the kiosk's part in the page's language, the system's quoted."""
        tr = self.tr
        if not isinstance(error, CommandFailed) or not error.program:
            return tr(FAILED).format(reason=error)
        if error.status is None:
            said = tr(NOT_RUN).format(program=error.program)
        else:
            said = tr(REFUSED).format(program=error.program, status=error.status)
        return f"{said} {tr(SYSTEM_SAYS).format(output=error.output)}" if error.output else said

    def _card_heights(self, area: pygame.Rect, gap: int) -> list[int]:
        """Each command's card as tall as its title and whole description need (an Indonesian description
        runs to three or four lines), the spare room shared; equal cards when even that does not fit."""
        m, tr = self.kit.metrics, self.tr
        inner_w = area.width - min(m.px(260), area.width // 3) - 3 * m.px(14)
        room = area.height - gap * (len(COMMANDS) - 1)
        for titled in (True, False):
            needed = [self._needed(tr(c.about), inner_w, titled=titled) for c in COMMANDS]
            if sum(needed) <= room:
                spare = min(m.px(20), (room - sum(needed)) // len(COMMANDS))
                return [h + spare for h in needed]
        return [room // len(COMMANDS)] * len(COMMANDS)

    def _needed(self, about: str, width: int, *, titled: bool) -> int:
        """Height of a card showing its title (or not) and the whole of ``about``."""
        kit, m = self.kit, self.kit.metrics
        pad = m.px(14)
        lines = len(kit.text.wrap(about, m.text_small, width))
        title = kit.text.line_height(m.text_button, True) + m.px(4) if titled else 0
        return max(m.touch + 2 * pad, 2 * pad + title + lines * kit.text.line_height(m.text_small) + m.px(6))

    def overlay(self, area: pygame.Rect) -> Widget | None:
        command = self.confirming
        if command is None:
            return None
        tr = self.tr
        return Dialog(
            "power.confirm",
            area,
            self.kit,
            tr(command.confirm_title),
            tr(command.confirm_body),
            [
                ("cancel", tr(CANCEL), self.cancel, "secondary"),
                ("ok", tr(command.confirm), self.run, "primary"),
            ],
            tone="warning",
            on_outside=self.cancel,
        )
