"""Start-up: what the first citizen needs soon, loaded in the background once the kiosk is built.

The kiosk restarts after every watchdog trip and power cut, so the time to its first welcome frame is time
a citizen stands in front of a dark screen. ``kiosk run`` therefore draws the welcome screen before it builds
the kiosk (:mod:`ui.first_frame`), then builds the kiosk (outbox, devices, journey, sync). Neither needs numpy
and Pillow (the camera preview, photo decoding), python-escpos and segno (the receipt), or the NIK prefix
table (the identity step). Those modules are imported where they are first used, and :func:`start_warm_up`
imports them on a background thread once the kiosk serves, so that the first photo step and the first
receipt are not slowed by them either::

    frame = show_first_frame(config)    # the first welcome frame, READY=1
    kiosk = build_kiosk(config, events) # then the kiosk behind it; STATUS=serving
    start_warm_up(UI_WARM_UP)           # numpy, Pillow, segno, ... and the region table, in the background

Two libraries pull in something heavy the kiosk never uses when they are imported: pygame imports setuptools'
``pkg_resources`` (only to find its own data files, with a fallback) and sqlite-utils imports numpy (only to
map numpy scalars to column types; the kiosk stores none). :func:`import_without` imports them with that
module hidden, the way each library's own ``except ImportError`` fallback expects.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType

log = logging.getLogger(__name__)

#: What the welcome screen leaves for later, in the order the journey needs it: the phone number check
#: (details step), the camera preview and face check (photo step), then the receipt's renderer. Not
#: python-escpos: the simulated printer does not use it, and a real printer's backend imports it when the
#: printer is opened.
#: Not OpenCV: the face check runs it in a child process (kiosk.face_check) that the journey starts itself,
#: and the camera's pictures are drawn and encoded with Pillow, so the kiosk process never loads it.
WARM_UP_MODULES: tuple[str, ...] = (
    "phonenumbers",  # the details step's phone field (kiosk.validation imports it at the first number)
    "numpy",
    "PIL.Image",
    "PIL.JpegImagePlugin",  # Pillow loads its format plugins at the first picture it opens or saves
    "PIL.PngImagePlugin",
    "hal.camera.scenes",
    "hal.camera.jpeg",
    "kiosk.face_check",  # with multiprocessing and concurrent.futures, for the child's start
    "segno",
    "hal.printer.receipt_image",
)


def import_without(name: str, *hidden: str) -> ModuleType:
    """Import module ``name`` while the modules ``hidden`` cannot be imported; unhide them after.

    Meant for a library that imports an optional dependency it has a fallback for (``try: import x`` /
    ``except ImportError``). A ``None`` in :data:`sys.modules` makes ``import x`` raise ImportError; only
    names not imported yet are hidden (an imported module is there already and costs nothing more), and they
    are unhidden before this returns. Call it before other threads start: an import of a hidden module on
    another thread meanwhile would fail.

    Returns:
        The imported module (as :func:`importlib.import_module` does).
    """
    if name in sys.modules:
        return sys.modules[name]
    blocked = [module for module in hidden if module not in sys.modules]
    for module in blocked:
        sys.modules[module] = None  # type: ignore[assignment]
    try:
        return importlib.import_module(name)
    finally:
        for module in blocked:
            if module in sys.modules and sys.modules[module] is None:
                del sys.modules[module]


def import_lean_storage() -> None:
    """Import sqlite-utils without numpy (a fifth of the start-up, for column types the kiosk never uses).

    Called first thing by the ``kiosk`` command, before any module that imports sqlite-utils.
    """
    import_without("sqlite_utils", "numpy")


def warm_up(
    modules: Sequence[str] = WARM_UP_MODULES,
    *,
    regions: bool = True,
    then: Sequence[Callable[[], object]] = (),
) -> list[str]:
    """Import ``modules``, load the NIK prefix table (``regions``), call ``then``; return the problems.

    A module that fails to import (or a call that raises) is logged and skipped, never raised: the step that
    needs it reports the problem in its own words when it is reached, as it would have without a warm-up.

    Args:
        modules: Modules to import.
        regions: Load the NIK prefix table (kiosk.regions.preload).
        then: Calls that prepare devices once their libraries are loaded (``Camera.prepare``).
    """
    problems = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - an optional speed-up must never stop the kiosk
            problems.append(f"{name}: {exc}")
    if regions:
        from kiosk import regions as region_table

        try:
            region_table.preload()
        except Exception as exc:  # noqa: BLE001 - the identity step loads it again and says why
            problems.append(f"region table: {exc}")
    for call in then:
        try:
            call()
        except Exception as exc:  # noqa: BLE001 - the device reports its own failure when it is used
            problems.append(f"{getattr(call, '__qualname__', call)}: {exc}")
    for problem in problems:
        log.warning("warm-up: could not load %s", problem)
    return problems


def start_warm_up(
    extra: Sequence[str] = (),
    *,
    then: Sequence[Callable[[], object]] = (),
    on_done: Callable[[list[str]], None] | None = None,
) -> threading.Thread:
    """Run :func:`warm_up` of :data:`WARM_UP_MODULES` and ``extra`` on a daemon thread; return the thread.

    Args:
        extra: Modules of the layers above (the UI's picture decoding) to import as well.
        then: Calls that prepare devices after the imports (the camera's :meth:`~hal.camera.Camera.prepare`).
        on_done: Called on the thread with the problems found (tests wait on it instead of sleeping).
    """

    def run() -> None:
        problems = warm_up((*WARM_UP_MODULES, *extra), then=then)
        if on_done is not None:
            on_done(problems)

    # Daemon: a kiosk stopped during its warm-up must not wait for an import to finish.
    thread = threading.Thread(target=run, name="warm-up", daemon=True)
    thread.start()
    return thread
