"""cv2 imported from several threads at once (the warm-up, the camera, the face check) is whole in each."""

from __future__ import annotations

import subprocess
import sys

# Three threads released together, as the warm-up thread, the camera's scene and the face check can be.
RACE = """
import threading
go = threading.Event()
seen = []
def take():
    go.wait()
    from hal.opencv import cv2
    seen.append(bool(cv2.data.haarcascades))
threads = [threading.Thread(target=take) for _ in range(3)]
for thread in threads:
    thread.start()
go.set()
for thread in threads:
    thread.join()
print(seen)
"""


def test_threads_importing_opencv_together_each_get_the_whole_package() -> None:
    # A plain `import cv2` on two threads at once handed one of them the native module (no cv2.data) in
    # about one start in six here; eight starts make a regression very likely to show.
    for _ in range(8):
        done = subprocess.run([sys.executable, "-c", RACE], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.strip() == "[True, True, True]", done.stdout + done.stderr[-2000:]
