"""Cloud speech with Cartesia over one WebSocket, using the cartesia 4.2.0 SDK.

The engine is the socket's only owner: it opens it, watches it, and replaces it.
Each message is one context (`continue: false`) on the shared socket. The SDK's
4.2.0 traps, and what this module does about each:

- `ctx.receive()` never wakes when its context is cancelled, when the socket drops,
  or when an `error` arrives without `context_id` (the SDK routes by context id and
  drops it): every wait is bounded by `first_chunk_timeout_s` / `chunk_timeout_s`,
  and a watcher on the socket fails the messages riding on it the moment it closes.
- Its built-in reconnect re-enters a manager that returns the same closed socket: a
  closed or suspect socket is retired and a fresh `websocket_connect()` opened.
- A bad key fails the handshake with `websockets.exceptions.InvalidStatus` (401),
  not a CartesiaError: mapped to EngineConfigError, never showing the key.
- Cancel only halts generation not yet started: after `ctx.cancel()` the SDK drops
  the context's queue, so late chunks are discarded and never reach the player.
- The server closes sockets idle for 5 minutes: a socket idle for `_IDLE_REOPEN_S`
  is replaced before use, and a send that meets a closed socket is retried once on
  a fresh one.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from cartesia import (
    APIConnectionError,
    APIStatusError,
    AsyncCartesia,
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
)
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from streamer_tts.speech.base import (
    Emit,
    EngineConfigError,
    EngineError,
    PcmFormat,
    StreamedSynthesis,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from cartesia.resources.tts import AsyncTTSResourceConnection, AsyncWebSocketContext
    from websockets.asyncio.client import ClientConnection

__all__ = ["CartesiaEngine", "CartesiaSynthesis", "plain_transcript"]

_LOG = logging.getLogger(__name__)
ENGINE_NAME: Final = "cartesia"
_CONNECT_TIMEOUT_S: Final = 5.0
_SEND_TIMEOUT_S: Final = 5.0
_REST_TIMEOUT_S: Final = 5.0
_CLOSE_TIMEOUT_S: Final = 2.0
_IDLE_REOPEN_S: Final = 240.0
"""The service closes sockets idle for 300 s; reopening before that avoids the race."""
_MAX_CHUNKS_AHEAD: Final = 2048
"""Room for a whole message's chunks. The SDK's per-context queue is unbounded anyway;
keeping it drained means a socket that drops after the last chunk loses no audio."""


def _error_text(event: object) -> str:
    """One line from an `error` event: title, message, code and status when present."""
    title = getattr(event, "title", None) or "error"
    message = getattr(event, "message", None)
    code = getattr(event, "error_code", None)
    status = getattr(event, "status_code", None)
    text = f"{title}: {message}" if message else str(title)
    details = ", ".join(str(d) for d in (code, status) if d)
    return f"{text} ({details})" if details else text


_TAG = re.compile(r"<[^<>]*>")
_MARKUP_CHARS = re.compile(r"[<>\[\]]+")


def plain_transcript(text: str) -> str:
    """`text` with nothing Cartesia would act on rather than read: SSML-like
    tags (`<break time="9s"/>`, `<speed>`, `<emotion>`, `<spell>`), IPA in
    `<<...>>` and bracketed cues such as `[laughter]`. The filters remove these
    from viewer text already; this is the last line, right at the socket."""
    return " ".join(_MARKUP_CHARS.sub(" ", _TAG.sub(" ", text)).split())


def split_whole_samples(data: bytes, frame_bytes: int) -> tuple[bytes, bytes]:
    """Split `data` into whole s16le frames and a remainder carried to the next chunk."""
    whole = len(data) - len(data) % frame_bytes
    return data[:whole], data[whole:]


@dataclass(eq=False)
class _Link:
    """One WebSocket and the messages riding on it; replaced, never revived."""

    conn: AsyncTTSResourceConnection
    socket: ClientConnection
    last_used_s: float = field(default_factory=time.monotonic)
    syntheses: set[CartesiaSynthesis] = field(default_factory=set)
    retired: bool = False
    dropped: bool = False
    closed: bool = False
    watcher: asyncio.Task[None] | None = None


class CartesiaEngine:
    """Cartesia TTS over one shared WebSocket; one context per message."""

    name: str = ENGINE_NAME

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        voice: str,
        websocket_url: str,
        base_url: str,
        sample_rate: int = 22050,
        first_chunk_timeout_s: float = 5.0,
        chunk_timeout_s: float = 5.0,
    ) -> None:
        self._api_key = api_key
        self.model = model
        self.voice = voice
        self.websocket_url = websocket_url
        self.base_url = base_url
        self.format = PcmFormat(sample_rate=sample_rate)
        self.first_chunk_timeout_s = first_chunk_timeout_s
        self.chunk_timeout_s = chunk_timeout_s
        self._client: AsyncCartesia | None = None
        self._link: _Link | None = None
        self._connect_lock = asyncio.Lock()
        self._active: set[CartesiaSynthesis] = set()

    async def start(self) -> None:
        """Check the key and voice over REST, then open the socket.

        Raises EngineConfigError for a rejected key or unknown voice, EngineError if
        Cartesia cannot be reached.
        """
        if self._client is None:
            self._client = AsyncCartesia(
                api_key=self._api_key,
                base_url=self.base_url,
                websocket_base_url=self.websocket_url,
                timeout=_REST_TIMEOUT_S,
                max_retries=1,
            )
        try:
            await self._check_voice(self.voice)
            await self._ensure_link()
        except BaseException:
            await self.close()
            raise

    def synthesize(
        self, text: str, *, voice: str | None = None, options: Mapping[str, Any] | None = None
    ) -> CartesiaSynthesis:
        """Stream `text` in `voice` (a Cartesia voice id; default: the configured one).
        `options` are a voice alias's `voice` and `speed` (sonic-3's generation_config)."""
        if self._client is None:
            raise RuntimeError("CartesiaEngine.synthesize() before start()")
        opts = options or {}
        chosen = opts.get("voice") or voice or self.voice
        return CartesiaSynthesis(self, text, chosen, opts.get("speed"))

    async def close(self) -> None:
        for synthesis in list(self._active):
            await synthesis.cancel()
        link, self._link = self._link, None
        if link is not None:
            await self._close_link(link)
        if self._client is not None:
            client, self._client = self._client, None
            try:
                await asyncio.wait_for(client.close(), _CLOSE_TIMEOUT_S)
            except TimeoutError:
                _LOG.warning("cartesia: HTTP client close timed out")

    # -- REST ------------------------------------------------------------------

    async def _check_voice(self, voice: str) -> None:
        assert self._client is not None
        try:
            await asyncio.wait_for(
                self._client.voices.get(voice, timeout=_REST_TIMEOUT_S), _REST_TIMEOUT_S * 3
            )
        except (AuthenticationError, PermissionDeniedError) as exc:
            raise EngineConfigError(ENGINE_NAME, f"API key rejected ({exc.status_code})") from None
        except NotFoundError:
            raise EngineConfigError(ENGINE_NAME, f"unknown voice {voice!r}") from None
        except APIStatusError as exc:
            raise EngineError(ENGINE_NAME, f"voice check failed (HTTP {exc.status_code})") from None
        except (APIConnectionError, TimeoutError) as exc:
            raise EngineError(
                ENGINE_NAME, f"cannot reach {self.base_url} ({type(exc).__name__})"
            ) from None

    # -- the socket --------------------------------------------------------------

    async def _ensure_link(self) -> _Link:
        """The current socket, or a fresh one; never the SDK's closed-socket 'reconnect'."""
        async with self._connect_lock:
            link = self._link
            if link is not None and time.monotonic() - link.last_used_s > _IDLE_REOPEN_S:
                await self._retire(link)
                link = None
            if link is None or link.retired or link.closed:
                link = await self._connect()
                self._link = link
            return link

    async def _connect(self) -> _Link:
        assert self._client is not None
        manager = self._client.tts.websocket_connect()
        try:
            conn = await asyncio.wait_for(manager.enter(), _CONNECT_TIMEOUT_S)
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                raise EngineConfigError(ENGINE_NAME, f"API key rejected ({status})") from None
            raise EngineError(ENGINE_NAME, f"WebSocket handshake refused (HTTP {status})") from None
        except (OSError, TimeoutError, WebSocketException) as exc:
            raise EngineError(
                ENGINE_NAME, f"cannot connect to {self.websocket_url} ({type(exc).__name__})"
            ) from None
        # 4.2.0 offers no public way to learn that the socket closed; the pinned
        # SDK keeps the websockets connection in `_connection`.
        link = _Link(conn=conn, socket=conn._connection)
        link.watcher = asyncio.create_task(self._watch(link), name="cartesia-socket-watcher")
        _LOG.debug("cartesia: socket open")
        return link

    async def _watch(self, link: _Link) -> None:
        """Fail the messages on a socket the moment it closes, and forget the socket."""
        await link.socket.wait_closed()
        link.retired = link.dropped = True
        if self._link is link:
            self._link = None
        code = link.socket.close_code
        if link.syntheses:
            _LOG.warning("cartesia: socket dropped mid-message (close code %s)", code)
        else:
            _LOG.info("cartesia: idle socket closed by server (close code %s)", code)
        for synthesis in list(link.syntheses):
            synthesis.fail(EngineError(ENGINE_NAME, f"connection dropped (close code {code})"))
        if not link.syntheses:
            await self._close_link(link)

    async def _retire(self, link: _Link) -> None:
        """Use `link` for no new message; close it once its last message ends."""
        link.retired = True
        if self._link is link:
            self._link = None
        if not link.syntheses:
            await self._close_link(link)

    async def _close_link(self, link: _Link) -> None:
        if link.closed:
            return
        link.closed = True
        watcher = link.watcher
        if watcher is not None and watcher is not asyncio.current_task():
            watcher.cancel()
        try:
            await asyncio.wait_for(link.conn.close(), _CLOSE_TIMEOUT_S)
        except (TimeoutError, OSError, WebSocketException):
            _LOG.debug("cartesia: socket close did not complete cleanly")

    # -- one message -------------------------------------------------------------

    async def _open_context(
        self, text: str, voice: str, speed: float | None = None
    ) -> tuple[_Link, AsyncWebSocketContext]:
        """Create a context and send the whole text, on a fresh socket if the old one closed."""
        extra: dict[str, Any] = {"generation_config": {"speed": speed}} if speed else {}
        for _attempt in range(2):
            link = await self._ensure_link()
            ctx = link.conn.context(
                model_id=self.model,
                voice={"mode": "id", "id": voice},
                output_format={
                    "container": "raw",
                    "encoding": "pcm_s16le",
                    "sample_rate": self.format.sample_rate,
                },
            )
            try:
                await asyncio.wait_for(
                    ctx.send(
                        transcript=plain_transcript(text),
                        voice={"mode": "id", "id": voice},
                        continue_=False,
                        **extra,
                    ),
                    _SEND_TIMEOUT_S,
                )
            except ConnectionClosed:
                await self._retire(link)  # closed under us: the server's idle close
                continue
            except TimeoutError:
                await self._retire(link)
                raise EngineError(
                    ENGINE_NAME, f"send timed out after {_SEND_TIMEOUT_S:g} s"
                ) from None
            except asyncio.CancelledError:
                await self._abandon(link, ctx)  # the request may have gone out
                raise
            link.last_used_s = time.monotonic()
            return link, ctx
        raise EngineError(ENGINE_NAME, "connection closed while sending, twice")

    async def _abandon(self, link: _Link, ctx: AsyncWebSocketContext) -> None:
        """Tell the server to stop the context; the SDK then drops its late chunks."""
        if link.closed or link.dropped:
            return
        try:
            await asyncio.wait_for(ctx.cancel(), _SEND_TIMEOUT_S)
        except (ConnectionClosed, OSError, TimeoutError):
            await self._retire(link)

    async def _release(self, link: _Link, synthesis: CartesiaSynthesis) -> None:
        link.syntheses.discard(synthesis)
        if link.retired and not link.syntheses:
            await self._close_link(link)


class CartesiaSynthesis(StreamedSynthesis):
    """One message as one context; produced by the engine's socket, read by the player."""

    def __init__(
        self, engine: CartesiaEngine, text: str, voice: str, speed: float | None = None
    ) -> None:
        super().__init__(ENGINE_NAME, max_chunks_ahead=_MAX_CHUNKS_AHEAD)
        self._engine = engine
        self._text = text
        self._voice = voice
        self._speed = speed
        self._finished = False

    async def _produce(self, emit: Emit) -> None:
        engine = self._engine
        engine._active.add(self)
        try:
            link, ctx = await engine._open_context(self._text, self._voice, self._speed)
            link.syntheses.add(self)
            try:
                await self._receive(link, ctx, emit)
            finally:
                if not self._finished:
                    await engine._abandon(link, ctx)
                await engine._release(link, self)
        finally:
            engine._active.discard(self)

    async def _receive(self, link: _Link, ctx: AsyncWebSocketContext, emit: Emit) -> None:
        engine = self._engine
        events = ctx.receive()
        timeout_s = engine.first_chunk_timeout_s
        got_audio = False
        carry = b""
        frame_bytes = engine.format.bytes_per_frame
        while True:
            try:
                async with asyncio.timeout(timeout_s):
                    event = await anext(events)
            except StopAsyncIteration:
                raise EngineError(ENGINE_NAME, "context ended without done") from None
            except TimeoutError:
                what = "more audio" if got_audio else "first audio"
                await engine._retire(link)  # the socket may be wedged: next message, new socket
                raise EngineError(ENGINE_NAME, f"no {what} within {timeout_s:g} s") from None
            if event.type == "chunk":
                pcm, carry = split_whole_samples(carry + (event.audio or b""), frame_bytes)
                timeout_s, got_audio = engine.chunk_timeout_s, True
                await emit(pcm)
            elif event.type == "done":
                self._finished = True
                return
            elif event.type == "error":
                self._finished = True  # the server ended the context itself
                raise EngineError(ENGINE_NAME, _error_text(event))
