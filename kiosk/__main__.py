"""``python -m kiosk`` is the ``kiosk`` command.

Guarded, although multiprocessing's ``spawn`` never re-runs a ``__main__`` module in its children (the face
check's child process, :mod:`kiosk.face_check`): a child must never start a second kiosk, however it is run.
"""

import sys

from kiosk.cli import main

if __name__ == "__main__":
    sys.exit(main())
