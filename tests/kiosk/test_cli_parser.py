"""The command line's parser is built without the kiosk's parts; what it shows must still match them.

(That building it imports none of them is checked in a fresh interpreter: tests/kiosk/test_warm_up.py.)
"""

from __future__ import annotations

from kiosk import outbox
from kiosk.cli import build_parser
from kiosk.commands import outbox as outbox_command
from kiosk.commands import pin as pin_command
from kiosk.maintenance import pin


def test_the_outbox_states_offered_by_list_are_the_outbox_s_own():
    assert outbox_command.STATES == outbox.STATES
    args = build_parser().parse_args(["outbox", "list", "--state", "dead"])
    assert args.state == "dead"


def test_the_pin_lengths_in_the_help_are_the_ones_the_pin_check_enforces():
    assert (pin_command.MIN_LENGTH, pin_command.MAX_LENGTH) == (pin.MIN_LENGTH, pin.MAX_LENGTH)
    help_text = build_parser()._subparsers._group_actions[0].choices["set-pin"].format_help()
    assert f"{pin.MIN_LENGTH} to {pin.MAX_LENGTH} digits" in help_text
