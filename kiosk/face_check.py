"""The face check in a child process that exists only while a citizen needs it.

OpenCV is about 70 MB of a process once it has searched a frame for a face (its libraries, the Haar cascade,
the buffers of ``detectMultiScale``), and a native library can never be unloaded from a process. So the kiosk
never imports it: :class:`FaceCheckProcess` runs :func:`kiosk.photo_quality.assess_photo` in a child started
(with the standard library's :class:`~concurrent.futures.ProcessPoolExecutor`, one worker, ``spawn``) when a
citizen's journey nears the photo step, and shut down when their session ends, which hands all of it back::

    face_check = FaceCheckProcess()
    face_check.open()                                  # the service takes a photo: start it in the background
    worker = face_check(camera, on_result)             # the photo step's PhotoQualityWorker, as before
    worker.start(); ...; worker.stop()
    face_check.close()                                 # the session ended: the child exits (a Future tells)

A child that crashes or hangs is a failed check (:class:`~kiosk.photo_quality.FaceCheckFailed`): the photo
step goes on without guidance, as it does when the check fails in any other way, and the next check gets a new
child. After :data:`MAX_STARTS` children in one session it stops trying until the next citizen
(:class:`~kiosk.photo_quality.FaceCheckUnavailable`), so a check that always crashes does not start a process
four times a second.

``spawn`` starts a fresh interpreter that imports only what the check needs (numpy, OpenCV,
:mod:`kiosk.photo_quality`), never pygame or the UI, and shares no lock or thread state with the kiosk's
threads (``fork`` of a multithreaded process may copy a held lock). The child ignores Ctrl+C (the kiosk stops
it), and forbids its own core dumps: it holds frames of a citizen's face.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, CancelledError, Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    # Imported where used: the kiosk builds this before its first frame, which needs neither numpy
    # (kiosk.photo_quality) nor multiprocessing.
    import multiprocessing.process
    from concurrent.futures import ProcessPoolExecutor

    import numpy

    from hal.camera import Camera
    from kiosk.photo_quality import PhotoAssessment, PhotoQualityWorker, PhotoRules

__all__ = ["FaceCheck", "FaceCheckProcess", "InProcessFaceCheck", "MAX_STARTS"]

log = logging.getLogger(__name__)

#: Children started in one session at most (the first, and two after a crash or a hang).
MAX_STARTS = 3

Assess = Callable[["numpy.ndarray", "PhotoRules"], "PhotoAssessment"]


class FaceCheck(Protocol):
    """Makes the face-check worker over a camera; the photo step and the maintenance camera test use it."""

    def __call__(
        self, camera: Camera, on_result: Callable[[PhotoAssessment, int], None]
    ) -> PhotoQualityWorker: ...

    def open(self) -> None:
        """A citizen will need the check soon: get it ready in the background (never blocks)."""
        ...

    def close(self) -> Future[None]:
        """The session ended: release what the check holds; the future is done once it is released."""
        ...


class InProcessFaceCheck:
    """The face check on a thread of the calling process (tests, benchmarks): OpenCV loads into the caller."""

    def __call__(
        self, camera: Camera, on_result: Callable[[PhotoAssessment, int], None]
    ) -> PhotoQualityWorker:
        """A worker that runs :func:`~kiosk.photo_quality.assess_photo` in this process."""
        from kiosk.photo_quality import PhotoQualityWorker

        return PhotoQualityWorker(camera, on_result)

    def open(self) -> None:
        """Nothing to start: OpenCV is imported at the first check."""

    def close(self) -> Future[None]:
        """Nothing to release (OpenCV stays loaded in this process); an already finished future."""
        done: Future[None] = Future()
        done.set_result(None)
        return done


# -- what runs in the child --------------------------------------------------------------------------------
def _child_started() -> None:
    """The child's initializer: no Ctrl+C (the kiosk stops it), no core dump (it holds a citizen's face), and
    no life after the kiosk's."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from kiosk.core_dumps import forbid_core_dumps

    forbid_core_dumps()
    import multiprocessing

    parent = multiprocessing.parent_process()
    if parent is not None:
        # A kiosk killed outright (SIGKILL, the OOM killer) cannot shut its child down, and the child would
        # wait on its task queue for ever (it holds that pipe's other end too): it ends when the kiosk does.
        threading.Thread(target=_exit_with, args=(parent,), name="parent-watch", daemon=True).start()


def _exit_with(parent: multiprocessing.process.BaseProcess) -> None:
    from multiprocessing.connection import wait

    wait([parent.sentinel])
    os._exit(0)


def _child_ready() -> int:
    """Load OpenCV and the cascade, so that the first real check is quick; return the child's pid."""
    from kiosk.photo_quality import load_face_detector

    load_face_detector()
    return os.getpid()


def _child_assess(assess: Assess, rgb: numpy.ndarray, rules: PhotoRules) -> PhotoAssessment:
    return assess(rgb, rules)


# -- the kiosk's side ----------------------------------------------------------------------------------------
@dataclass
class _Child:
    """One child process: its executor, the future of its start, and the process itself.

    The process object is multiprocessing's own (``multiprocessing.active_children()``): it is how a child
    that hangs, even while it starts, is killed and waited for without a private attribute of the executor.
    """

    executor: ProcessPoolExecutor
    ready: Future[int]
    process: multiprocessing.process.BaseProcess | None

    def kill(self) -> None:
        """SIGKILL the child (it hangs); one that already exited is left alone."""
        if self.process is not None:
            self.process.kill()

    def release(self, grace_s: float) -> None:
        """Shut the child down: it exits after its check in progress; one that does not within the grace is
        killed. Returns once it is reaped."""
        from multiprocessing.connection import wait

        # Not shutdown(wait=True): it would wait for ever on a hung child. Without waiting, the executor
        # forgets its thread, so the child is waited for here: on its sentinel (readable once it exits) for
        # the grace, then joined, which returns once it is reaped (by this thread or the executor's).
        self.executor.shutdown(wait=False, cancel_futures=True)
        if self.process is not None:
            if not wait([self.process.sentinel], grace_s):
                log.warning("face check: the child did not exit within %g s; killed", grace_s)
                self.process.kill()
            self.process.join()


class FaceCheckProcess:
    """The face check of :mod:`kiosk.photo_quality`, run in a child process while a citizen needs it.

    Thread-safe: :meth:`open` and :meth:`close` come from the UI thread, :meth:`assess` from the face-check
    worker's thread, the worker's stop from a background thread.

    Args:
        rules: The thresholds of the check; default :data:`~kiosk.photo_quality.DEFAULT_RULES`.
        check_timeout_s: Longest wait for one check once the child is ready; a child that takes longer hangs
            and is killed (a check takes tens of milliseconds on a Pi).
        start_timeout_s: Longest wait for a new child to be ready (a fresh interpreter importing OpenCV
            takes one to a few seconds on a Pi, more while the kiosk itself is busy).
        grace_s: How long a child shut down after a session may take to finish its check before it is killed.
        assess: The check run in the child, default :func:`~kiosk.photo_quality.assess_photo`; a module-level
            function (it is sent to the child by name).
    """

    def __init__(
        self,
        rules: PhotoRules | None = None,
        *,
        check_timeout_s: float = 5.0,
        start_timeout_s: float = 60.0,
        grace_s: float = 2.0,
        assess: Assess | None = None,
    ) -> None:
        self.rules = rules
        self.check_timeout_s = check_timeout_s
        self.start_timeout_s = start_timeout_s
        self.grace_s = grace_s
        self._assess = assess
        self._lock = threading.Lock()
        self._child: _Child | None = None
        self._starts = 0  # children started since the last close()
        self._wanted = False  # a session holds the check open (open() until close())
        self._session = 0  # grows at every close(): a worker of a closed session starts no child
        self._closing: Future[None] | None = None

    # -- the session's side -------------------------------------------------------------------------------
    def __call__(
        self, camera: Camera, on_result: Callable[[PhotoAssessment, int], None]
    ) -> PhotoQualityWorker:
        """The photo step's worker: frames are checked in the child; its stop releases a child no session
        holds (the maintenance camera test starts one without a session).

        The worker belongs to the session it was made in: once that is closed its checks raise
        :class:`~kiosk.photo_quality.FaceCheckUnavailable` (the worker ends) instead of starting a child for
        nobody, in the moment between the session's end and the worker's stop on another thread.
        """
        from kiosk.photo_quality import PhotoQualityWorker

        with self._lock:
            session = self._session

        def assess(rgb: numpy.ndarray) -> PhotoAssessment:
            return self._assess_in(session, rgb)

        return PhotoQualityWorker(camera, on_result, assess=assess, on_stop=self._worker_stopped)

    def open(self) -> None:
        """Start the child in the background if it is not running; returns at once."""
        with self._lock:
            self._wanted = True
            if self._child is None and self._starts < MAX_STARTS:
                self._start()

    def close(self) -> Future[None]:
        """The session ended: the child exits (killed if it does not within ``grace_s``); the next
        :meth:`open` or check starts a new one. The future is done once the child is gone (reaped)."""
        with self._lock:
            self._wanted = False
            self._starts = 0
            self._session += 1
            child, self._child = self._child, None
            if child is not None:
                self._closing = self._retire(child)
            elif self._closing is None:
                self._closing = Future()
                self._closing.set_result(None)
            return self._closing

    @property
    def pid(self) -> int | None:
        """The running child's pid once it is ready, else None (benchmarks sample its memory)."""
        with self._lock:
            child = self._child
        return child.process.pid if child is not None and child.process is not None else None

    def ready(self) -> Future[int]:
        """The future of the current child's start (its pid); starts a child if none runs.

        Raises:
            FaceCheckUnavailable: Too many children failed in this session.
        """
        with self._lock:
            return self._current().ready

    # -- the worker's side --------------------------------------------------------------------------------
    def assess(self, rgb: numpy.ndarray) -> PhotoAssessment:
        """Check one frame in the child (started now if it is not running) and return its assessment.

        Raises:
            FaceCheckFailed: The child crashed, hung (it is then killed), or was closed meanwhile; the next
                check starts a new child.
            FaceCheckUnavailable: :data:`MAX_STARTS` children failed in this session.
            ValueError, RuntimeError: What :func:`~kiosk.photo_quality.assess_photo` raises for this frame.
        """
        with self._lock:
            session = self._session
        return self._assess_in(session, rgb)

    # -- internals ----------------------------------------------------------------------------------------
    def _assess_in(self, session: int, rgb: numpy.ndarray) -> PhotoAssessment:
        """:meth:`assess` for a worker of ``session`` (see :meth:`__call__`)."""
        from kiosk.photo_quality import DEFAULT_RULES, FaceCheckFailed, FaceCheckUnavailable, assess_photo

        with self._lock:
            if session != self._session:
                raise FaceCheckUnavailable("the face check was closed: the session ended")
            child = self._current()
        waited = "start"
        try:
            child.ready.result(timeout=self.start_timeout_s)
            waited = "check"
            check, rules = self._assess or assess_photo, self.rules or DEFAULT_RULES
            future = child.executor.submit(_child_assess, check, rgb, rules)
            return future.result(timeout=self.check_timeout_s)
        except TimeoutError:
            self._discard(child, kill=True)
            limit = self.start_timeout_s if waited == "start" else self.check_timeout_s
            message = f"no answer from the face check within {limit:g} s ({waited}); killed"
            raise FaceCheckFailed(message) from None
        except BrokenExecutor as exc:
            self._discard(child, kill=False)
            raise FaceCheckFailed(f"the face check's process stopped: {exc}") from None
        except CancelledError:
            raise FaceCheckFailed("the face check was closed during the check") from None
        except RuntimeError:
            if child.executor is not self._executor_now():
                raise FaceCheckFailed("the face check was closed during the check") from None
            raise  # the check's own error (OpenCV's cascade missing)

    def _current(self) -> _Child:
        """The running child, or a new one (with the lock held)."""
        if self._child is None:
            if self._starts >= MAX_STARTS:
                from kiosk.photo_quality import FaceCheckUnavailable

                log.warning("face check: %d children failed; off until the next citizen", self._starts)
                raise FaceCheckUnavailable(
                    f"the face check failed {self._starts} times; it is off until the next citizen"
                )
            self._start()
        assert self._child is not None
        return self._child

    def _start(self) -> None:
        """Start a child (with the lock held): a fork and exec here, the imports happen in the child."""
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        executor = ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_child_started
        )
        before = {process.pid for process in multiprocessing.active_children()}
        # The executor starts its process in submit() (start methods other than fork spawn on demand).
        ready = executor.submit(_child_ready)
        spawned = [process for process in multiprocessing.active_children() if process.pid not in before]
        if len(spawned) != 1:  # another part of the process started one at the same moment: never seen here
            log.warning("face check: %d new child processes; a hung one cannot be killed", len(spawned))
        self._child = _Child(executor, ready, spawned[0] if len(spawned) == 1 else None)
        self._starts += 1

    def _executor_now(self) -> ProcessPoolExecutor | None:
        with self._lock:
            return self._child.executor if self._child is not None else None

    def _discard(self, child: _Child, *, kill: bool) -> None:
        """Forget a failed child (killed first if it hangs); the next check or open() starts another."""
        with self._lock:
            if self._child is child:
                self._child = None
        if kill:
            child.kill()
        closing = self._retire(child)
        with self._lock:
            self._closing = closing

    def _retire(self, child: _Child) -> Future[None]:
        """Release ``child`` on a thread of its own (waiting for it must not hold up the UI)."""
        done: Future[None] = Future()

        def release() -> None:
            try:
                child.release(self.grace_s)
            except Exception as exc:  # noqa: BLE001 - a failed release is logged; it must not kill a thread silently
                log.exception("face check: releasing the child failed")
                done.set_exception(exc)
            else:
                done.set_result(None)

        threading.Thread(target=release, name="face-check-release", daemon=True).start()
        return done

    def _worker_stopped(self) -> None:
        """A worker stopped: a child started for it alone (no session holds it) is released."""
        with self._lock:
            unwanted = not self._wanted and self._child is not None
        if unwanted:
            self.close()
