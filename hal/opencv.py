"""OpenCV (``cv2``), imported once for the whole process: every kiosk module takes it from here.

cv2's bootstrap puts its native extension in ``sys.modules["cv2"]`` while it loads, and the package back
after. A second thread that imports cv2 in that moment gets the native module, without ``cv2.data`` (seen:
the face check found no Haar cascade when the warm-up thread was importing cv2 at the same time). Importing
cv2 through this module serialises that: Python holds this module's import lock until its body, and so cv2,
is complete, and a thread importing it meanwhile waits for it.
"""

from __future__ import annotations

import cv2

__all__ = ["cv2"]
