"""A playback stream on a PulseAudio (or PipeWire) server, through libpulse.

Only what a write-ahead output needs: connect, write, flush, and where the
server reads. The caller holds :meth:`PulseStream.locked` around every call
(libpulse's threaded mainloop runs the protocol in a thread of its own) and
polls; no Python callback runs on libpulse's thread, which would then wait
for the interpreter lock in the middle of the sound path. The one exception,
the underflow counter, runs only when the server already ran dry.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import time
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["PulseError", "PulseStream", "server_configured"]

S16LE: Final = 3  # pa_sample_format_t PA_SAMPLE_S16LE
CONTEXT_READY: Final = 4
CONTEXT_FAILED: Final = 5
CONTEXT_TERMINATED: Final = 6
STREAM_READY: Final = 2
STREAM_FAILED: Final = 3
STREAM_TERMINATED: Final = 4
OPERATION_RUNNING: Final = 0
CONTEXT_NOAUTOSPAWN: Final = 0x1
STREAM_INTERPOLATE_TIMING: Final = 0x2
STREAM_AUTO_TIMING_UPDATE: Final = 0x8
STREAM_EARLY_REQUESTS: Final = 0x4000
SEEK_RELATIVE: Final = 0
SEEK_ABSOLUTE: Final = 1
NO_VALUE: Final = 0xFFFFFFFF  # (uint32_t) -1: "let the server choose"


class PulseError(Exception):
    """The server cannot be reached or the stream failed (one line)."""


class _SampleSpec(ctypes.Structure):
    _fields_ = [("format", ctypes.c_int), ("rate", ctypes.c_uint32), ("channels", ctypes.c_uint8)]


class _BufferAttr(ctypes.Structure):
    _fields_ = [
        ("maxlength", ctypes.c_uint32),
        ("tlength", ctypes.c_uint32),
        ("prebuf", ctypes.c_uint32),
        ("minreq", ctypes.c_uint32),
        ("fragsize", ctypes.c_uint32),
    ]


class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _TimingInfo(ctypes.Structure):
    _fields_ = [
        ("timestamp", _Timeval),
        ("synchronized_clocks", ctypes.c_int),
        ("sink_usec", ctypes.c_uint64),
        ("source_usec", ctypes.c_uint64),
        ("transport_usec", ctypes.c_uint64),
        ("playing", ctypes.c_int),
        ("write_index_corrupt", ctypes.c_int),
        ("write_index", ctypes.c_int64),
        ("read_index_corrupt", ctypes.c_int),
        ("read_index", ctypes.c_int64),
        ("configured_sink_usec", ctypes.c_uint64),
        ("configured_source_usec", ctypes.c_uint64),
        ("since_underrun", ctypes.c_int64),
    ]


_NOTIFY = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
_P = ctypes.c_void_p


def _load() -> ctypes.CDLL:
    name = ctypes.util.find_library("pulse") or "libpulse.so.0"
    try:
        lib = ctypes.CDLL(name)
    except OSError as exc:
        raise PulseError(f"libpulse is not installed ({exc})") from exc
    sigs: dict[str, tuple[Any, list[Any]]] = {
        "pa_threaded_mainloop_new": (_P, []),
        "pa_threaded_mainloop_free": (None, [_P]),
        "pa_threaded_mainloop_start": (ctypes.c_int, [_P]),
        "pa_threaded_mainloop_stop": (None, [_P]),
        "pa_threaded_mainloop_lock": (None, [_P]),
        "pa_threaded_mainloop_unlock": (None, [_P]),
        "pa_threaded_mainloop_get_api": (_P, [_P]),
        "pa_context_new": (_P, [_P, ctypes.c_char_p]),
        "pa_context_connect": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_int, _P]),
        "pa_context_get_state": (ctypes.c_int, [_P]),
        "pa_context_errno": (ctypes.c_int, [_P]),
        "pa_context_disconnect": (None, [_P]),
        "pa_context_unref": (None, [_P]),
        "pa_strerror": (ctypes.c_char_p, [ctypes.c_int]),
        "pa_stream_new": (_P, [_P, ctypes.c_char_p, ctypes.POINTER(_SampleSpec), _P]),
        "pa_stream_connect_playback": (
            ctypes.c_int,
            [_P, ctypes.c_char_p, ctypes.POINTER(_BufferAttr), ctypes.c_int, _P, _P],
        ),
        "pa_stream_get_state": (ctypes.c_int, [_P]),
        "pa_stream_writable_size": (ctypes.c_size_t, [_P]),
        "pa_stream_write": (
            ctypes.c_int,
            [_P, ctypes.c_void_p, ctypes.c_size_t, _P, ctypes.c_int64, ctypes.c_int],
        ),
        "pa_stream_flush": (_P, [_P, _P, _P]),
        "pa_stream_update_timing_info": (_P, [_P, _P, _P]),
        "pa_stream_get_timing_info": (ctypes.POINTER(_TimingInfo), [_P]),
        "pa_stream_get_buffer_attr": (ctypes.POINTER(_BufferAttr), [_P]),
        "pa_stream_set_underflow_callback": (None, [_P, _NOTIFY, _P]),
        "pa_stream_disconnect": (ctypes.c_int, [_P]),
        "pa_stream_unref": (None, [_P]),
        "pa_operation_get_state": (ctypes.c_int, [_P]),
        "pa_operation_unref": (None, [_P]),
    }
    for fn, (restype, argtypes) in sigs.items():
        f = getattr(lib, fn)
        f.restype, f.argtypes = restype, argtypes
    return lib


_lib: ctypes.CDLL | None = None


def _pa() -> ctypes.CDLL:
    global _lib
    if _lib is None:
        _lib = _load()
    return _lib


def server_configured() -> bool:
    """Whether this process has a PulseAudio/PipeWire server to talk to: libpulse
    loads, and ``PULSE_SERVER`` names one or the runtime directory holds its socket
    (a desktop session's, or a systemd user service's ``XDG_RUNTIME_DIR``)."""
    try:
        _pa()
    except PulseError:
        return False
    if os.environ.get("PULSE_SERVER"):
        return True
    runtime = os.environ.get("PULSE_RUNTIME_PATH")
    if not runtime and os.environ.get("XDG_RUNTIME_DIR"):
        runtime = os.path.join(os.environ["XDG_RUNTIME_DIR"], "pulse")
    return bool(runtime) and os.path.exists(os.path.join(runtime or "", "native"))


class PulseStream:
    """One playback stream, mono s16le, whose server buffer holds up to
    ``buffer_ms``; playback starts as soon as ``start_ms`` are written.

    Every method but :meth:`open` and :meth:`close` must be called inside
    ``with stream.locked():``. Byte positions are the stream's own: what
    was written since it opened (``write_index``) and what the server has
    taken from it to play (``read_index``).
    """

    def __init__(
        self,
        *,
        rate: int,
        buffer_ms: float,
        start_ms: float,
        request_ms: float,
        server: str | None = None,
        sink: str | None = None,
        name: str = "streamer-tts",
    ) -> None:
        self.rate = rate
        self.bytes_per_ms = rate * 2 / 1000
        self._attr = _BufferAttr(
            NO_VALUE,
            self._bytes(buffer_ms),
            self._bytes(start_ms),
            self._bytes(request_ms),
            NO_VALUE,
        )
        self._server = server
        self._sink = sink
        self._name = name
        self._ml: Any = None
        self._ctx: Any = None
        self._stream: Any = None
        self.underflows = 0
        self._on_underflow = _NOTIFY(self._underflow)  # kept alive as long as the stream

    def _bytes(self, ms: float) -> int:
        return max(2, int(ms * self.bytes_per_ms) // 2 * 2)

    def _underflow(self, _stream: object, _user: object) -> None:
        self.underflows += 1

    # ---- opening and closing (not locked by the caller) ---------------------

    def open(self, timeout_s: float = 5.0) -> None:
        """Connect and create the stream; raises :class:`PulseError` in one line."""
        pa = _pa()
        self._ml = pa.pa_threaded_mainloop_new()
        if not self._ml or pa.pa_threaded_mainloop_start(self._ml) < 0:
            self.close()
            raise PulseError("cannot start the PulseAudio client")
        try:
            with self.locked():
                self._ctx = pa.pa_context_new(
                    pa.pa_threaded_mainloop_get_api(self._ml), self._name.encode()
                )
                server = self._server.encode() if self._server else None
                if pa.pa_context_connect(self._ctx, server, CONTEXT_NOAUTOSPAWN, None) < 0:
                    raise PulseError(f"cannot reach the sound server: {self._error()}")
            self._wait(lambda: pa.pa_context_get_state(self._ctx), CONTEXT_READY, timeout_s)
            with self.locked():
                spec = _SampleSpec(S16LE, self.rate, 1)
                self._stream = pa.pa_stream_new(self._ctx, self._name.encode(), spec, None)
                if not self._stream:
                    raise PulseError(f"cannot create a stream: {self._error()}")
                pa.pa_stream_set_underflow_callback(self._stream, self._on_underflow, None)
                # EARLY_REQUESTS: the sink renders only ``request_ms`` ahead (what a
                # skip waits for), while the buffer holds all ``buffer_ms`` asked
                flags = STREAM_INTERPOLATE_TIMING | STREAM_AUTO_TIMING_UPDATE
                flags |= STREAM_EARLY_REQUESTS
                sink = self._sink.encode() if self._sink else None
                attr = ctypes.byref(self._attr)
                if pa.pa_stream_connect_playback(self._stream, sink, attr, flags, None, None) < 0:
                    raise PulseError(f"cannot play on {self._sink or 'the default sink'}: "
                                     f"{self._error()}")  # fmt: skip
            self._wait(lambda: pa.pa_stream_get_state(self._stream), STREAM_READY, timeout_s)
        except BaseException:
            self.close()
            raise

    def _wait(self, state: Callable[[], int], ready: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            with self.locked():
                now = state()
                error = self._error()
            if now == ready:
                return
            if now in (CONTEXT_FAILED, CONTEXT_TERMINATED) or time.monotonic() > deadline:
                raise PulseError(f"the sound server did not answer: {error}")
            time.sleep(0.005)

    def _error(self) -> str:
        pa = _pa()
        if not self._ctx:
            return "no connection"
        text = pa.pa_strerror(pa.pa_context_errno(self._ctx))
        return text.decode(errors="replace") if text else "unknown error"

    def close(self) -> None:
        """Disconnect and free everything; idempotent."""
        pa = _pa()
        if self._ml is None:
            return
        with self.locked():
            if self._stream:
                pa.pa_stream_disconnect(self._stream)
                pa.pa_stream_unref(self._stream)
                self._stream = None
            if self._ctx:
                pa.pa_context_disconnect(self._ctx)
                pa.pa_context_unref(self._ctx)
                self._ctx = None
        pa.pa_threaded_mainloop_stop(self._ml)
        pa.pa_threaded_mainloop_free(self._ml)
        self._ml = None

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        pa = _pa()
        pa.pa_threaded_mainloop_lock(self._ml)
        try:
            yield
        finally:
            pa.pa_threaded_mainloop_unlock(self._ml)

    # ---- while open, locked ----------------------------------------------------

    def problem(self) -> str | None:
        """Why the stream no longer plays (server gone, stream killed), or None."""
        pa = _pa()
        if pa.pa_context_get_state(self._ctx) != CONTEXT_READY:
            return f"the sound server connection ended: {self._error()}"
        if pa.pa_stream_get_state(self._stream) != STREAM_READY:
            return f"the stream ended: {self._error()}"
        return None

    @property
    def buffer_bytes(self) -> int:
        """The server buffer granted (``tlength``)."""
        return int(_pa().pa_stream_get_buffer_attr(self._stream).contents.tlength)

    def writable(self) -> int:
        """Bytes the server takes now without going over its buffer."""
        n = _pa().pa_stream_writable_size(self._stream)
        return 0 if n == ctypes.c_size_t(-1).value else int(n)

    def write(self, pcm: bytes, *, at: int | None = None) -> None:
        """Append ``pcm`` (libpulse copies it), or write it from byte ``at`` on."""
        if not pcm:
            return
        seek, offset = (SEEK_RELATIVE, 0) if at is None else (SEEK_ABSOLUTE, at)
        if _pa().pa_stream_write(self._stream, pcm, len(pcm), None, offset, seek) < 0:
            raise PulseError(f"writing to the sound server failed: {self._error()}")

    def flush(self) -> int | None:
        """Drop everything written that the server has not taken yet; returns
        the operation (see :meth:`done`)."""
        return _pa().pa_stream_flush(self._stream, None, None)

    def update_timing(self) -> int | None:
        """Ask the server where it reads now; returns the operation."""
        return _pa().pa_stream_update_timing_info(self._stream, None, None)

    @staticmethod
    def done(operation: int | None) -> bool:
        """True once ``operation`` ended (then it is released); a NULL one has."""
        pa = _pa()
        if not operation:
            return True
        if pa.pa_operation_get_state(operation) == OPERATION_RUNNING:
            return False
        pa.pa_operation_unref(operation)
        return True

    def finish(self, operation: int | None, timeout_s: float) -> None:
        """Wait (not locked by the caller) until ``operation`` has ended; raises
        :class:`PulseError` if the stream fails or the server takes too long."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self.locked():
                if self.done(operation):
                    return
                problem = self.problem()
            if problem is not None:
                raise PulseError(problem)
            if time.monotonic() > deadline:
                raise PulseError(f"the sound server did not answer within {timeout_s:g} s")
            time.sleep(0.0002)

    def indexes(self) -> tuple[int, int]:
        """(write_index, read_index) in bytes, as of the last timing update."""
        info = _pa().pa_stream_get_timing_info(self._stream)
        if not info:
            return 0, 0
        return int(info.contents.write_index), int(info.contents.read_index)
