#!/usr/bin/env python3
"""Benchmark: the face-photo check per preview frame, and how many analyses per second the worker sustains.

What runs on a kiosk during the photo step is :class:`kiosk.photo_quality.PhotoQualityWorker` calling
:func:`kiosk.photo_quality.assess_photo` on the camera's newest preview frame, beside the UI. This measures:

- the time of one analysis of a preview frame (p50 / p99), on frames of the simulated camera's default
  scene (the public-domain astronaut framed as at a kiosk, swaying) and on frames with no face (a test
  pattern: the cascade then searches every scale and place without stopping early);
- the analyses per second the worker sustains beside a 15 fps simulated preview: at its default rate
  (4 per second) and unthrottled (the most this machine can do).

Usage::

    python scripts/bench_photo_quality.py [--frames 200] [--seconds 5] [--size 640x480] [--rate 4]

Figures are printed, never asserted. ``measure()`` returns them for ``scripts/bench.py``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import threading
import time
from typing import Any

import cv2

from hal.camera.scenes import FaceScene, TestPatternScene
from hal.camera.simulated import SimulatedCamera
from hal.settings import CameraSettings
from kiosk.photo_quality import PhotoAssessment, PhotoQualityWorker, assess_photo


def _percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def time_analyses(scene: Any, frames: int, size: tuple[int, int], warmup: int = 5) -> list[float]:
    """Seconds per :func:`assess_photo` call on ``frames`` successive frames of ``scene``."""
    pictures = [scene.render(seq, size) for seq in range(frames + warmup)]
    for picture in pictures[:warmup]:  # loads the cascade, warms the caches
        assess_photo(picture)
    times = []
    for picture in pictures[warmup:]:
        started = time.perf_counter()
        assess_photo(picture)
        times.append(time.perf_counter() - started)
    return times


def worker_rate(
    rate_hz: float, seconds: float, size: tuple[int, int], preview_fps: float
) -> dict[str, float]:
    """Run the worker beside a simulated preview for ``seconds``; analyses and preview frames per second."""
    settings = CameraSettings(backend="simulated", preview_size=size, preview_fps=preview_fps)
    results: list[int] = []
    lock = threading.Lock()

    def on_result(_: PhotoAssessment, seq: int) -> None:
        with lock:
            results.append(seq)

    with SimulatedCamera(settings) as camera:
        camera.start_preview()
        camera.wait_for_frame(0, 5.0)
        worker = PhotoQualityWorker(camera, on_result, rate_hz=rate_hz)
        first_seq = camera.latest_frame().seq
        started = time.perf_counter()
        worker.start()
        time.sleep(seconds)  # a benchmark measures wall time on purpose
        worker.stop()
        elapsed = time.perf_counter() - started
        frames = camera.latest_frame().seq - first_seq
    return {"analyses_per_s": len(results) / elapsed, "preview_fps": frames / elapsed}


def measure(
    frames: int = 200, seconds: float = 5.0, size: tuple[int, int] = (640, 480), rate_hz: float = 4.0
) -> dict[str, Any]:
    """Run the whole benchmark and return its figures (seconds, per-second rates)."""
    face = time_analyses(FaceScene.astronaut(), frames, size)
    no_face = time_analyses(TestPatternScene(), max(20, frames // 4), size)
    default_rate = worker_rate(rate_hz, seconds, size, preview_fps=15.0)
    unthrottled = worker_rate(1000.0, seconds, size, preview_fps=60.0)
    return {
        "size": size,
        "frames": frames,
        "face_p50_s": statistics.median(face),
        "face_p99_s": _percentile(face, 0.99),
        "no_face_p50_s": statistics.median(no_face),
        "no_face_p99_s": _percentile(no_face, 0.99),
        "worker_rate_hz": rate_hz,
        "worker_analyses_per_s": default_rate["analyses_per_s"],
        "worker_preview_fps": default_rate["preview_fps"],
        "max_analyses_per_s": unthrottled["analyses_per_s"],
        "opencv_threads": cv2.getNumThreads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--frames", type=int, default=200, help="frames to time one analysis on (default 200)"
    )
    parser.add_argument(
        "--seconds", type=float, default=5.0, help="how long each worker run lasts (default 5)"
    )
    parser.add_argument("--size", default="640x480", help="preview size WIDTHxHEIGHT (default 640x480)")
    parser.add_argument(
        "--rate", type=float, default=4.0, help="the worker's analyses per second (default 4)"
    )
    args = parser.parse_args()
    width, _, height = args.size.partition("x")
    size = (int(width), int(height))

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"OpenCV {cv2.__version__} ({cv2.getNumThreads()} threads), load {os.getloadavg()[0]:.2f}"
    )
    result = measure(args.frames, args.seconds, size, args.rate)
    print(f"analysis of one {size[0]}x{size[1]} preview frame ({args.frames} frames):")
    for label, key in (("with a face   ", "face"), ("without a face", "no_face")):
        p50, p99 = result[f"{key}_p50_s"] * 1000, result[f"{key}_p99_s"] * 1000
        print(f"  {label}  p50 {p50:6.1f} ms   p99 {p99:6.1f} ms")
    print(
        f"worker beside a 15 fps preview, asked for {args.rate:g}/s: "
        f"{result['worker_analyses_per_s']:.2f} analyses/s "
        f"(preview ran at {result['worker_preview_fps']:.1f} fps)"
    )
    print(f"worker unthrottled beside a 60 fps preview: {result['max_analyses_per_s']:.1f} analyses/s")


if __name__ == "__main__":
    main()
