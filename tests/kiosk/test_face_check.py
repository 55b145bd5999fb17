"""The face check in its child process: real child processes, deterministic waits (futures, FIFOs, pidfds).

The child is a real ``spawn``ed interpreter running :func:`kiosk.photo_quality.assess_photo`; these tests
check that it answers as the in-process check does, that a child killed or hung mid-check is a failed check
and the next check gets a new child, that a session's end leaves no child behind, and that a worker of an
ended session starts none.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy
import pytest
from face_check_helpers import DIE, FIFO_VARIABLE, HANG, assess_or_misbehave, loaded_modules, marked

from hal.camera import Frame
from hal.camera.faces import ASTRONAUT_FACE_BOX
from hal.camera.scenes import FaceScene
from hal.camera.simulated import SimulatedCamera
from hal.settings import CameraSettings
from kiosk.face_check import MAX_STARTS, FaceCheckProcess
from kiosk.photo_quality import FaceCheckFailed, FaceCheckUnavailable, PhotoAssessment, assess_photo

#: Upper bound for a child's start on a loaded machine (a new interpreter importing OpenCV): no timing check.
START = 120.0


@pytest.fixture(scope="module")
def frames() -> list[numpy.ndarray]:
    """A good photo, a dark one, one too far, a blank one: verdicts of every kind."""
    scene = FaceScene.astronaut()
    good = scene.render(0, (640, 480))
    far = FaceScene(scene.picture, ASTRONAUT_FACE_BOX, face_width=0.12, sway=0).render(0, (640, 480))
    return [good, (good * 0.3).astype(numpy.uint8), far, numpy.full_like(good, 128)]


@pytest.fixture
def face_check():
    check = FaceCheckProcess(start_timeout_s=START, check_timeout_s=START)
    try:
        yield check
    finally:
        check.close().result(timeout=START)


def _gone(pid: int) -> bool:
    """The process no longer exists (reaped: its /proc entry is gone)."""
    return not Path(f"/proc/{pid}").exists()


def _wait_exit(pidfd: int) -> bool:
    """Wait on a pidfd until its process exits (readable then)."""
    poll = select.poll()
    poll.register(pidfd, select.POLLIN)
    return bool(poll.poll(int(START * 1000)))


def test_the_child_gives_the_verdicts_of_the_check_in_this_process(face_check, frames):
    face_check.open()
    pid = face_check.ready().result(timeout=START)
    assert pid != os.getpid() and face_check.pid == pid
    verdicts = [face_check.assess(frame) for frame in frames]
    assert verdicts == [assess_photo(frame) for frame in frames]
    assert [v.problems[:1] for v in verdicts][0] == ()  # the good photo is good: the check really ran
    assert all(isinstance(v, PhotoAssessment) for v in verdicts)
    assert face_check.pid == pid  # one child served every check


def test_the_child_imports_the_check_only_never_pygame_or_the_ui(frames):
    check = FaceCheckProcess(assess=loaded_modules, start_timeout_s=START, check_timeout_s=START)
    try:
        modules = set(check.assess(frames[0]))
    finally:
        check.close().result(timeout=START)
    assert {"cv2", "numpy", "kiosk.photo_quality"} <= modules
    assert {"pygame", "ui", "escpos", "segno", "sqlite_utils", "nacl"} & modules == set()


def test_a_child_killed_mid_check_is_a_failed_check_and_the_next_check_has_a_new_child(frames):
    check = FaceCheckProcess(assess=assess_or_misbehave, start_timeout_s=START, check_timeout_s=START)
    try:
        first = check.ready().result(timeout=START)
        pidfd = os.pidfd_open(first)
        try:
            with pytest.raises(FaceCheckFailed, match="process stopped"):
                check.assess(marked(frames[0], DIE))  # the child SIGKILLs itself inside the check
            assert _wait_exit(pidfd)
        finally:
            os.close(pidfd)
        assert check.assess(frames[0]) == assess_photo(frames[0])
        assert check.pid not in (None, first)
    finally:
        check.close().result(timeout=START)


def test_a_child_killed_from_outside_while_it_checks_fails_that_check_only(tmp_path, monkeypatch, frames):
    fifo = tmp_path / "checking"
    os.mkfifo(fifo)
    monkeypatch.setenv(FIFO_VARIABLE, str(fifo))  # the child inherits the environment at its start
    check = FaceCheckProcess(assess=assess_or_misbehave, start_timeout_s=START, check_timeout_s=START)
    try:
        first = check.ready().result(timeout=START)
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(check.assess, marked(frames[0], HANG))
            with open(fifo, "rb") as said:  # opens once the child is inside the check
                assert said.read() == b"checking"
            os.kill(first, 9)  # SIGKILL mid-check, as the OOM killer would
            with pytest.raises(FaceCheckFailed, match="process stopped"):
                pending.result(timeout=START)
        assert check.assess(frames[1]) == assess_photo(frames[1])
        assert check.pid not in (None, first)
    finally:
        check.close().result(timeout=START)


def test_a_hung_child_is_killed_and_the_check_fails(tmp_path, monkeypatch, frames):
    fifo = tmp_path / "checking"
    os.mkfifo(fifo)
    monkeypatch.setenv(FIFO_VARIABLE, str(fifo))
    # The check's answer is awaited 0.5 s: the hang never ends, so the timeout always fires.
    check = FaceCheckProcess(assess=assess_or_misbehave, start_timeout_s=START, check_timeout_s=0.5)
    try:
        first = check.ready().result(timeout=START)
        pidfd = os.pidfd_open(first)
        reader = threading.Thread(target=fifo.read_bytes, daemon=True)  # lets the child open its end
        reader.start()
        try:
            with pytest.raises(FaceCheckFailed, match="no answer .* killed"):
                check.assess(marked(frames[0], HANG))
            assert _wait_exit(pidfd)  # killed, not left hanging
        finally:
            os.close(pidfd)
        reader.join(START)
        check.check_timeout_s = START
        assert check.assess(frames[0]) == assess_photo(frames[0])
    finally:
        check.close().result(timeout=START)


def test_after_the_session_ends_the_child_is_gone_and_the_next_session_gets_a_new_one(face_check):
    face_check.open()
    first = face_check.ready().result(timeout=START)
    face_check.close().result(timeout=START)
    assert face_check.pid is None
    assert _gone(first)
    face_check.open()
    second = face_check.ready().result(timeout=START)
    assert second != first and not _gone(second)


def test_a_child_that_keeps_dying_is_given_up_until_the_next_session(frames):
    check = FaceCheckProcess(assess=assess_or_misbehave, start_timeout_s=START, check_timeout_s=START)
    dying = marked(frames[0], DIE)
    try:
        for _ in range(MAX_STARTS):
            with pytest.raises(FaceCheckFailed, match="process stopped"):
                check.assess(dying)
        with pytest.raises(FaceCheckUnavailable, match="next citizen"):
            check.assess(frames[0])
        check.close().result(timeout=START)
        assert check.assess(frames[0]) == assess_photo(frames[0])  # the next session tries again
    finally:
        check.close().result(timeout=START)


@dataclass
class FrameSource:
    """Hands out frames as a camera's latest_frame() would."""

    frame: Frame | None = None

    def latest_frame(self) -> Frame | None:
        return self.frame


def test_the_photo_steps_worker_gets_its_guidance_from_the_child(face_check):
    results: list[tuple[PhotoAssessment, int]] = []
    got = threading.Event()
    settings = CameraSettings(backend="simulated", preview_size=(320, 240))
    with SimulatedCamera(settings, frame_interval=0.02) as cam:
        cam.start_preview()
        face_check.open()
        worker = face_check(cam, lambda assessment, seq: (results.append((assessment, seq)), got.set()))
        worker.start()
        try:
            assert got.wait(START)
        finally:
            worker.stop()
    assessment, seq = results[0]
    assert assessment.face is not None and seq >= 0
    assert face_check.pid is not None  # the session holds the child: the worker's stop keeps it


def test_a_worker_of_an_ended_session_starts_no_child(face_check, frames):
    source = FrameSource(Frame(rgb=frames[0], seq=1, t=0.0))
    results: list[int] = []
    face_check.open()
    worker = face_check(source, lambda assessment, seq: results.append(seq))  # type: ignore[arg-type]
    assert worker.step().ok  # checked in the child
    face_check.close().result(timeout=START)
    source.frame = Frame(rgb=frames[1], seq=2, t=0.1)
    with pytest.raises(FaceCheckUnavailable, match="session ended"):
        worker.step()  # the moment between the session's end and the worker's stop
    assert face_check.pid is None
    assert results == [1]


def test_a_worker_without_a_session_releases_its_child_when_it_stops(face_check, frames):
    # The maintenance camera test makes a worker without opening a session.
    worker = face_check(FrameSource(Frame(rgb=frames[0], seq=1, t=0.0)), lambda assessment, seq: None)  # type: ignore[arg-type]
    assert worker.step().ok
    pid = face_check.pid
    assert pid is not None
    worker.stop()
    face_check.close().result(timeout=START)  # the release the stop started
    assert face_check.pid is None and _gone(pid)


_KILLED_KIOSK = """
import os
from kiosk.face_check import FaceCheckProcess

if __name__ == "__main__":
    check = FaceCheckProcess()
    print(check.ready().result(timeout=120), flush=True)
    os.kill(os.getpid(), 9)  # no shutdown of any kind: the OOM killer, a watchdog's SIGKILL
"""


def test_a_child_does_not_outlive_a_kiosk_killed_outright():
    kiosk = subprocess.Popen([sys.executable, "-c", _KILLED_KIOSK], stdout=subprocess.PIPE, text=True)
    try:
        child = int(kiosk.stdout.readline())
        pidfd = os.pidfd_open(child)
    finally:
        kiosk.wait(START)
        kiosk.stdout.close()
    try:
        assert _wait_exit(pidfd)
    finally:
        os.close(pidfd)
