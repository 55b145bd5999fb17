"""Checks that run in the face check's child process, for tests/kiosk/test_face_check.py.

They live in a module of their own because the child receives a check by its module and name (pickled by
reference): it imports this module, not the test module with its fixtures. A frame whose first pixel is
:data:`DIE` or :data:`HANG` tells the check to misbehave; any other frame gets the real verdict.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

import numpy

from kiosk.photo_quality import PhotoAssessment, PhotoRules, assess_photo

#: First pixel of a frame on which the check kills its own process (SIGKILL, as the OOM killer would).
DIE = (1, 2, 3)
#: First pixel of a frame on which the check says so on the FIFO named by $FACE_CHECK_TEST_FIFO and hangs.
HANG = (4, 5, 6)
FIFO_VARIABLE = "FACE_CHECK_TEST_FIFO"


def marked(rgb: numpy.ndarray, mark: tuple[int, int, int]) -> numpy.ndarray:
    """A copy of ``rgb`` whose first pixel is ``mark``."""
    copy = rgb.copy()
    copy[0, 0] = mark
    return copy


def assess_or_misbehave(rgb: numpy.ndarray, rules: PhotoRules) -> PhotoAssessment:
    """The real check, except on a marked frame: die, or hang after saying it is checking."""
    first = tuple(int(v) for v in rgb[0, 0])
    if first == DIE:
        os.kill(os.getpid(), signal.SIGKILL)
    if first == HANG:
        with open(os.environ[FIFO_VARIABLE], "wb") as fifo:
            fifo.write(b"checking")
        threading.Event().wait()  # a hang: never returns
    return assess_photo(rgb, rules)


def loaded_modules(rgb: numpy.ndarray, rules: PhotoRules) -> list[str]:
    """What the child has imported (after a real check), by top-level name."""
    assess_photo(rgb, rules)
    return sorted({name.split(".")[0] for name in sys.modules} | {name for name in sys.modules})
