"""The serial signature pad driver, built on pyserial's ``serial.threaded``.

One :class:`SerialSignaturePad` owns two threads:

* pyserial's reader thread (:class:`serial.threaded.ReaderThread`), which hands each chunk of
  bytes to :class:`_PadLink`, the :class:`serial.threaded.Protocol` that decodes it and delivers
  pen samples;
* a supervisor thread that reopens the port with exponential backoff after the pad went away (a
  USB unplug shows up as ``connection_lost``), waiting on a :class:`threading.Event` so that
  :meth:`~hal.device.Device.close` returns promptly.

Logs and health details never contain pen coordinates or raw bytes: they are a signature.
"""

from __future__ import annotations

import errno
import logging
import termios
import threading
import time
from collections.abc import Callable

from hal.device import Health, HealthStatus
from hal.errors import BackendUnavailable
from hal.events import EventQueue, PenSample
from hal.settings import SignaturePadSettings
from hal.signature_pad import SignaturePad
from hal.signature_pad.protocols import (
    ISDV4,
    ISDV4_QUERY,
    ISDV4_START,
    ISDV4_STOP,
    DigitiserSize,
    PenReading,
    StreamDecoder,
    protocol_named,
)

try:
    import serial
    import serial.threaded
except ImportError as exc:  # pragma: no cover - pyserial is a dependency; this guards broken installs
    raise BackendUnavailable("the serial signature pad needs pyserial (pip install pyserial)") from exc

log = logging.getLogger(__name__)

#: Errors opening or driving a port can raise: pyserial's own, the OS's, and termios' (which is not
#: an OSError) when a USB adapter vanishes between calls.
PORT_ERRORS = (serial.SerialException, OSError, termios.error, ValueError)


class _PadReader(serial.threaded.ReaderThread):
    """pyserial's reader thread, also reporting a plain ``OSError`` as a lost connection.

    ``ReaderThread.run`` only catches ``SerialException`` from ``read``; its ``in_waiting`` ioctl
    raises a plain ``OSError`` (EIO) when a USB adapter is unplugged mid-stream (pyserial #401),
    which would end the thread without ``connection_lost`` and leave the pad silently dead.
    """

    def run(self) -> None:
        try:
            super().run()
        except (OSError, termios.error) as exc:
            self.alive = False
            protocol = self.protocol
            self.protocol = None
            if protocol is not None:
                protocol.connection_lost(exc)


class _PadLink(serial.threaded.Protocol):
    """The reader thread's end of one connection: bytes in, samples out."""

    def __init__(self, pad: SerialSignaturePad) -> None:
        self._pad = pad
        self.decoder = StreamDecoder(pad.protocol)
        self.transport: serial.threaded.ReaderThread | None = None

    def connection_made(self, transport: serial.threaded.ReaderThread) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._pad._on_data(self, data)

    def connection_lost(self, exc: BaseException | None) -> None:
        # Unlike the base class this never raises: the supervisor handles the loss.
        self.transport = None
        self._pad._on_connection_lost(self, exc)


class SerialSignaturePad(SignaturePad):
    """A signature pad on a serial port (or any pyserial URL, such as a pty path or ``loop://``).

    Args:
        settings: The ``[signature_pad]`` section: port, protocol, baud rate, reconnect backoff.
        events: Where pen samples and health changes go.
        clock: Monotonic clock stamping the samples (injected by tests).
    """

    backend = "serial"
    #: How long an ISDV4 digitiser may take to answer the size query.
    query_timeout_s = 1.0
    #: Bytes in a row that form no packet before the pad is reported unreadable (about half a second
    #: of a continuous stream at 19200 baud): a pad set to another protocol or baud rate.
    unreadable_after_bytes = 1024

    def __init__(
        self,
        settings: SignaturePadSettings,
        events: EventQueue | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(events, clock=clock)
        self.settings = settings
        self.port = settings.port
        self.protocol = protocol_named(settings.protocol)
        self.max_x = self.protocol.max_x
        self.max_y = self.protocol.max_y
        self.max_pressure = self.protocol.max_pressure
        self._stopping = threading.Event()
        self._lost = threading.Event()
        self._size_reported = threading.Event()
        # _link_lock guards opening and closing the port; _state_lock makes "which link is current"
        # and the health it implies change together (the reader thread takes only _state_lock).
        self._link_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._reader: _PadReader | None = None
        self._link: _PadLink | None = None
        self._ever_connected = False
        self._unreadable_run = 0
        # First attempt right away, so the caller sees the real state as soon as the pad is built.
        self._connect()
        self._supervisor = threading.Thread(
            target=self._supervise, name="signature-pad-supervisor", daemon=True
        )
        self._supervisor.start()

    # -- public ----------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        """True while the port is open and being read."""
        reader = self._reader
        return reader is not None and reader.alive

    def self_test(self) -> Health:
        """Check that the port is open and readable; an ISDV4 pad must also answer the size query."""
        self._check_open()
        with self._link_lock:
            reader, link = self._reader, self._link
            if reader is None or link is None or not reader.alive:
                return self.health()
            try:
                # Asks the tty driver how many bytes wait: fails once the adapter is gone.
                reader.serial.in_waiting  # noqa: B018
                if self.protocol is ISDV4 and not self._query_size(reader, link):
                    self._set_health(HealthStatus.DEGRADED, "signature pad does not answer the size query")
                    return self.health()
            except PORT_ERRORS as exc:
                log.warning("signature pad self-test failed: %s", exc)
                self._set_health(HealthStatus.FAILED, f"signature pad not answering ({self.port})")
                return self.health()
        return self.health()

    # -- reader thread callbacks -----------------------------------------------------------------
    def _on_data(self, link: _PadLink, data: bytes) -> None:
        discarded_before = link.decoder.discarded_bytes
        reports = link.decoder.feed(data)
        now = self._clock()
        readings = 0
        for report in reports:
            if isinstance(report, DigitiserSize):
                self._take_size(report)
                continue
            readings += 1
            self._deliver(self._sample(report, now))
        self._track_readability(link, link.decoder.discarded_bytes - discarded_before, readings)

    def _sample(self, reading: PenReading, now: float) -> PenSample:
        return PenSample(
            x=reading.x,
            y=reading.y,
            pen_down=reading.pen_down,
            in_range=reading.in_range,
            pressure=reading.pressure,
            t=now,
        )

    def _take_size(self, size: DigitiserSize) -> None:
        if size.max_x and size.max_y:
            self.max_x, self.max_y = size.max_x, size.max_y
            self.max_pressure = size.max_pressure or self.max_pressure
        self._size_reported.set()

    def _track_readability(self, link: _PadLink, discarded: int, readings: int) -> None:
        with self._state_lock:
            if link is not self._link:
                return
            if readings:
                self._unreadable_run = 0
                if self.health().status is HealthStatus.DEGRADED:
                    self._set_health(HealthStatus.OK)
                    log.info("signature pad readable again")
            elif discarded:
                self._unreadable_run += discarded
                if self._unreadable_run >= self.unreadable_after_bytes and self.health().ok:
                    self._set_health(
                        HealthStatus.DEGRADED,
                        f"signature pad sends data the kiosk cannot read; check protocol "
                        f"({self.protocol.name}) and baudrate ({self.settings.baudrate}) in [signature_pad]",
                    )
                    log.warning("%s", self.health().detail)

    def _on_connection_lost(self, link: _PadLink, exc: BaseException | None) -> None:
        with self._state_lock:
            if link is not self._link or self._stopping.is_set():
                return  # our own close, or a connection already replaced
            self._link = None
            self._set_health(HealthStatus.FAILED, f"signature pad disconnected ({self.port})")
        # The error text names the port and errno, never data.
        log.warning("signature pad disconnected (%s): %s", self.port, exc or "port closed")
        self._lost.set()

    # -- connection management -------------------------------------------------------------------
    def _connect(self) -> bool:
        """Open the port, start reading and greet the pad; report the outcome as health."""
        with self._link_lock:
            if self._stopping.is_set():
                return False
            self._drop_reader()  # a reader that died while greeting the pad
            try:
                port = serial.serial_for_url(
                    self.port,
                    baudrate=self.settings.baudrate,
                    bytesize=serial.EIGHTBITS,
                    parity=serial.PARITY_NONE,
                    stopbits=serial.STOPBITS_ONE,
                    # Two kiosk processes reading one pad would each get half a signature.
                    exclusive=True,
                )
            except PORT_ERRORS as exc:
                reason = self._open_failure(exc)
                if reason != self.health().detail:  # once per new reason, not once per retry
                    log.warning("%s: %s", reason, exc)
                self._set_health(HealthStatus.FAILED, reason)
                return False
            link = _PadLink(self)
            reader = _PadReader(port, lambda: link)
            reader.name = "signature-pad-reader"
            with self._state_lock:
                self._lost.clear()
                self._link = link
                self._unreadable_run = 0
            self._reader = reader
            reader.start()
            try:
                reader.connect()
                if self.protocol is ISDV4:
                    self._greet_isdv4(reader, link)
            except (RuntimeError, *PORT_ERRORS) as exc:
                log.warning("signature pad lost while starting (%s): %s", self.port, exc)
                self._drop_reader()
                self._set_health(HealthStatus.FAILED, f"signature pad disconnected ({self.port})")
                return False
            with self._state_lock:
                if self._link is not link:  # lost while greeting; the supervisor retries
                    return False
                self._ever_connected = True
                self._set_health(HealthStatus.OK)
            log.info("signature pad connected on %s (%s)", self.port, self.protocol.name)
            return True

    def _greet_isdv4(self, reader: _PadReader, link: _PadLink) -> None:
        """Ask an ISDV4 digitiser for its size; the query ends by starting it streaming."""
        if not self._query_size(reader, link):
            log.warning(
                "signature pad on %s did not report its size; assuming %d x %d",
                self.port,
                self.max_x,
                self.max_y,
            )

    def _query_size(self, reader: _PadReader, link: _PadLink) -> bool:
        """Stop, query, wait for the size, start again; True when the digitiser answered."""
        # Stop the stream first, as Linux's w8001 driver does, so the reply is not buried in pen
        # packets; the decoder would cope, but a digitiser may ignore a query while streaming.
        self._size_reported.clear()
        reader.write(ISDV4_STOP)
        link.decoder.expect_size()  # before the query, so the reply cannot beat the window open
        reader.write(ISDV4_QUERY)
        answered = self._size_reported.wait(self.query_timeout_s) and not self._stopping.is_set()
        reader.write(ISDV4_START)
        return answered

    def _open_failure(self, exc: BaseException) -> str:
        """The reason a port would not open, in words a technician can act on."""
        code = getattr(exc, "errno", None)
        if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.EIO):
            if self._ever_connected:
                return f"signature pad disconnected ({self.port})"
            return f"signature pad not connected ({self.port})"
        if code in (errno.EACCES, errno.EPERM):
            return (
                f"signature pad cannot be opened: permission denied ({self.port}); "
                "is the kiosk user in the dialout group?"
            )
        if code in (errno.EAGAIN, errno.EBUSY) or "exclusively lock" in str(exc):
            return f"signature pad is in use by another program ({self.port})"
        return f"signature pad cannot be opened ({self.port})"

    def _supervise(self) -> None:
        """Wait for the connection to drop, then reopen it with exponential backoff."""
        initial = self.settings.reconnect_initial_s
        delay = initial
        while not self._stopping.is_set():
            if self.connected:
                self._lost.wait()
                if self._stopping.is_set():
                    return
                with self._link_lock:
                    self._drop_reader()
                delay = initial
            if self._stopping.wait(delay):
                return
            delay = initial if self._connect() else min(delay * 2, self.settings.reconnect_max_s)

    def _drop_reader(self) -> None:
        """Stop the reader thread and close the port (caller holds ``_link_lock``)."""
        reader, self._reader = self._reader, None
        if reader is None:
            return
        try:
            reader.close()
        except PORT_ERRORS as exc:
            log.debug("closing the signature pad port: %s", exc)

    def _close(self) -> None:
        self._stopping.set()
        self._lost.set()  # wakes the supervisor waiting for a loss
        self._size_reported.set()  # wakes a greeting waiting for the size reply
        self._supervisor.join(timeout=5)
        with self._link_lock:
            self._drop_reader()
        with self._state_lock:
            self._link = None
