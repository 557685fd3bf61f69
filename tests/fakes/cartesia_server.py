"""A fake Cartesia server (aiohttp) speaking the documented TTS WebSocket protocol.

Only tests and demos use it, so it lives in tests/. It listens on 127.0.0.1, port 0:

    async with FakeCartesiaServer() as server:
        client = AsyncCartesia(api_key=server.api_key, base_url=server.base_url,
                               websocket_base_url=server.websocket_url)

Wire format (docs.cartesia.ai, API version 2026-03-01 and later), client to server:
a generation request `{context_id, model_id, transcript, voice, output_format,
continue, ...}` or a cancel `{context_id, cancel: true}`. Server to client:
`chunk` (`data` = base64 PCM, `done` false, `status_code` 206, `step_time`),
`done` (`done` true, `status_code` 206 as in the docs' example), and `error`
(`done` true, `title`, `message`, `error_code`, `status_code`, `request_id`,
`context_id` if the error belongs to one).

Audio is a deterministic 440 Hz tone, ~60 ms per transcript character (capped),
in `chunk_ms` pieces, so a test can compare the bytes with `tone_pcm()`.
Cancel behaves like the real service: chunks already "generating"
(`late_chunks_after_cancel`) still arrive, then the context goes silent, with no
`done`. `cancel_delay_s` makes a loaded service: a cancel takes effect only
that long after it arrived, and the context keeps generating until then.
Knobs and counters are plain attributes, changed between messages.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
from aiohttp import WSMsgType, web

__all__ = [
    "API_VERSION",
    "DEFAULT_API_KEY",
    "DEFAULT_VOICE_ID",
    "FakeCartesiaServer",
    "tone_pcm",
]

API_VERSION: Final = "2026-08-14"
"""The `cartesia-version` the 4.2.0 SDK sends; any non-empty version is accepted."""
DEFAULT_API_KEY: Final = "sk_car_test_0123456789"
DEFAULT_VOICE_ID: Final = "6ccbfb76-1fc6-48f7-b71d-91ac6298247b"
DEFAULT_MODELS: Final = frozenset({"sonic-3.5", "sonic-3", "sonic-latest", "sonic-turbo"})
MS_PER_CHAR: Final = 60
MAX_AUDIO_S: Final = 10.0
TONE_HZ: Final = 440.0
TONE_AMPLITUDE: Final = 8000


def tone_pcm(transcript: str, sample_rate: int) -> bytes:
    """The exact s16le mono audio the fake returns for `transcript` at `sample_rate`."""
    duration_s = min(len(transcript) * MS_PER_CHAR / 1000, MAX_AUDIO_S)
    n_samples = round(duration_s * sample_rate)
    t = np.arange(n_samples, dtype=np.float64) / sample_rate
    samples = np.round(TONE_AMPLITUDE * np.sin(2 * math.pi * TONE_HZ * t))
    return samples.astype("<i2").tobytes()


@dataclass
class _Failure:
    status_code: int
    with_context_id: bool


@dataclass(eq=False)
class _Context:
    context_id: str
    inbox: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    cancelled: bool = False
    task: asyncio.Task[None] | None = None


@dataclass(eq=False)
class _Session:
    request: web.Request
    ws: web.WebSocketResponse
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    contexts: dict[str, _Context] = field(default_factory=dict)
    last_activity_s: float = field(default_factory=time.monotonic)

    async def send(self, event: dict[str, Any]) -> None:
        async with self.send_lock:
            await self.ws.send_str(json.dumps(event))
        self.last_activity_s = time.monotonic()


class FakeCartesiaServer:
    """Knobs: `slow_first_chunk_s`, `chunk_delay_s`, `chunk_ms`, `late_chunks_after_cancel`,
    `cancel_delay_s`,
    `realtime` (chunk i due `i * chunk_ms` after the first: the pace of a live voice),
    `max_lateness_s` (each paced chunk up to this much late, at random, drawn from `rng`),
    `overshoots` (per paced message, the most a chunk went out after its due time:
    the machine's lateness, beyond the one asked for),
    `drop_socket_mid_message` (one-shot), `close_idle_after_s`, `fail_next()`,
    `api_keys`, `voices`, `models`. Counters: `connections`, `contexts`, `cancels`,
    `drops`, `idle_closes`, `rejected_handshakes`, `late_chunks_sent` (sent after a
    cancel); `requests` logs generation requests, `versions_seen` the API versions.
    """

    def __init__(
        self,
        *,
        api_keys: set[str] | None = None,
        voices: dict[str, str] | None = None,
        models: set[str] | None = None,
    ) -> None:
        self.api_keys: set[str] = {DEFAULT_API_KEY} if api_keys is None else api_keys
        self.voices: dict[str, str] = {DEFAULT_VOICE_ID: "Fake Voice"} if voices is None else voices
        self.models: set[str] = set(DEFAULT_MODELS if models is None else models)
        self.slow_first_chunk_s = 0.0
        self.chunk_delay_s = 0.0
        self.chunk_ms = 40
        self.realtime = False
        self.max_lateness_s = 0.0
        self.rng = random.Random(0)
        self.overshoots: list[float] = []
        self.late_chunks_after_cancel = 2
        self.cancel_delay_s = 0.0
        self.cancelled_ids: list[str] = []
        self.drop_socket_mid_message = False
        self.close_idle_after_s: float | None = None
        self.connections = 0
        self.contexts = 0
        self.cancels = 0
        self.drops = 0
        self.idle_closes = 0
        self.rejected_handshakes = 0
        self.late_chunks_sent = 0
        self.requests: list[dict[str, Any]] = []
        self.versions_seen: list[str] = []
        self._failures: list[_Failure] = []
        self._sessions: set[_Session] = set()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- control ---------------------------------------------------------------

    def fail_next(
        self, n: int = 1, *, error_without_context_id: bool = False, status_code: int = 500
    ) -> None:
        """Answer the next `n` generation requests with an error event instead of audio."""
        self._failures.extend(_Failure(status_code, not error_without_context_id) for _ in range(n))

    @property
    def api_key(self) -> str:
        return next(iter(self.api_keys))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def websocket_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def open_sockets(self) -> int:
        return len(self._sessions)

    # -- lifecycle -------------------------------------------------------------

    async def __aenter__(self) -> FakeCartesiaServer:
        app = web.Application()
        app.router.add_get("/tts/websocket", self._tts_websocket)
        app.router.add_get("/voices/{voice_id}", self._get_voice)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for session in list(self._sessions):
            self._cancel_contexts(session)
            await session.ws.close(code=1001, message=b"server shutting down")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- HTTP ------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        key = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
        key = key or request.query.get("api_key")
        return key in self.api_keys

    def _version(self, request: web.Request) -> str:
        return request.headers.get("cartesia-version") or request.query.get("cartesia_version", "")

    def _reject(self, request: web.Request) -> web.Response | None:
        if not self._authorized(request):
            self.rejected_handshakes += 1
            return _json_error(401, "Unauthorized", "Invalid API key", "unauthorized")
        version = self._version(request)
        if not version:
            return _json_error(400, "Bad request", "cartesia-version header is required", "")
        self.versions_seen.append(version)
        return None

    async def _get_voice(self, request: web.Request) -> web.Response:
        rejection = self._reject(request)
        if rejection is not None:
            return rejection
        voice_id = request.match_info["voice_id"]
        name = self.voices.get(voice_id)
        if name is None:
            return _json_error(404, "Not found", f"Voice {voice_id} not found", "not_found")
        return web.json_response(
            {
                "id": voice_id,
                "name": name,
                "description": "A voice of the fake Cartesia server",
                "tagline": "",
                "language": "en",
                "locales": [{"locale": "en-US", "is_native": True}],
                "access": "public",
                "visibility": "all",
                "is_owner": False,
                "created_at": "2026-01-01T00:00:00Z",
            }
        )

    # -- WebSocket -------------------------------------------------------------

    async def _tts_websocket(self, request: web.Request) -> web.StreamResponse:
        rejection = self._reject(request)
        if rejection is not None:
            return rejection
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.connections += 1
        session = _Session(request, ws)
        self._sessions.add(session)
        try:
            await self._serve(session)
        finally:
            self._cancel_contexts(session)
            self._sessions.discard(session)
        return ws

    async def _serve(self, session: _Session) -> None:
        while not session.ws.closed:
            try:
                msg = await session.ws.receive(timeout=self._idle_wait_s(session))
            except TimeoutError:
                if self._is_idle(session):
                    self.idle_closes += 1
                    await session.ws.close(code=1000, message=b"idle timeout")
                    return
                continue
            if msg.type is not WSMsgType.TEXT:
                return  # close, error, or a binary frame the protocol never sends
            session.last_activity_s = time.monotonic()
            await self._handle(session, json.loads(msg.data))

    def _idle_wait_s(self, session: _Session) -> float | None:
        if self.close_idle_after_s is None:
            return None
        elapsed_s = time.monotonic() - session.last_activity_s
        return max(0.01, self.close_idle_after_s - elapsed_s)

    def _is_idle(self, session: _Session) -> bool:
        busy = any(c.task and not c.task.done() for c in session.contexts.values())
        assert self.close_idle_after_s is not None
        return not busy and time.monotonic() - session.last_activity_s >= self.close_idle_after_s

    async def _handle(self, session: _Session, request: dict[str, Any]) -> None:
        context_id = request.get("context_id")
        if request.get("cancel"):
            self.cancels += 1
            self.cancelled_ids.append(str(context_id))
            context = session.contexts.get(str(context_id))
            if context is not None and self.cancel_delay_s > 0:
                loop = asyncio.get_running_loop()
                loop.call_later(self.cancel_delay_s, setattr, context, "cancelled", True)
            elif context is not None:
                context.cancelled = True
            return
        self.requests.append(request)
        problem = _invalid_request(request, self.models, self.voices)
        if problem is not None:
            await session.send(_error_event(400, *problem, context_id=context_id))
            return
        context = session.contexts.get(context_id)
        if context is None or context.task is None or context.task.done():
            self.contexts += 1
            context = _Context(context_id)
            session.contexts[context_id] = context
            context.task = asyncio.create_task(self._generate(session, context))
        context.inbox.put_nowait(request)

    async def _generate(self, session: _Session, context: _Context) -> None:
        """Answer one context's requests in order; `continue: false` ends it with done."""
        first = True
        while True:
            request = await context.inbox.get()
            if self._failures:
                failure = self._failures.pop(0)
                cid = context.context_id if failure.with_context_id else None
                await session.send(
                    _error_event(
                        failure.status_code,
                        "Internal error",
                        "fake failure",
                        "internal_error",
                        context_id=cid,
                    )
                )
                return
            if first and self.slow_first_chunk_s:
                await asyncio.sleep(self.slow_first_chunk_s)
            first = False
            if not await self._stream_audio(session, context, request):
                return
            if not request.get("continue", False):
                await session.send(
                    {
                        "type": "done",
                        "done": True,
                        "status_code": 206,
                        "context_id": context.context_id,
                    }
                )
                return

    async def _stream_audio(
        self, session: _Session, context: _Context, request: dict[str, Any]
    ) -> bool:
        """Send the tone in chunks; False if the context or socket ended mid-way."""
        sample_rate = int(request["output_format"]["sample_rate"])
        pcm = tone_pcm(str(request["transcript"]), sample_rate)
        step_bytes = max(2, sample_rate * self.chunk_ms // 1000 * 2)
        pieces = [pcm[i : i + step_bytes] for i in range(0, len(pcm), step_bytes)]
        drop_at = len(pieces) // 2 if self.drop_socket_mid_message else None
        late_left = self.late_chunks_after_cancel
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        overshoot, due = 0.0, t0
        for index, piece in enumerate(pieces):
            if index and self.chunk_delay_s:
                await asyncio.sleep(self.chunk_delay_s)
            if self.realtime:  # on an absolute schedule: sleeps' overshoot never adds up
                due = t0 + index * self.chunk_ms / 1000 + self.rng.uniform(0, self.max_lateness_s)
                await asyncio.sleep(max(0.0, due - loop.time()))
            if context.cancelled:
                if late_left <= 0:
                    return False
                late_left -= 1
                self.late_chunks_sent += 1
            if index == drop_at:
                self.drop_socket_mid_message = False
                self.drops += 1
                transport = session.request.transport
                if transport is not None:
                    transport.abort()  # like a network drop: no close frame
                return False
            await session.send(
                {
                    "type": "chunk",
                    "data": base64.b64encode(piece).decode("ascii"),
                    "done": False,
                    "status_code": 206,
                    "step_time": 1.5,
                    "context_id": context.context_id,
                }
            )
            if self.realtime:
                overshoot = max(overshoot, loop.time() - due)
        if self.realtime:
            self.overshoots.append(overshoot)
        return not context.cancelled

    def _cancel_contexts(self, session: _Session) -> None:
        for context in session.contexts.values():
            if context.task is not None:
                context.task.cancel()


def _invalid_request(
    request: dict[str, Any], models: set[str], voices: dict[str, str]
) -> tuple[str, str, str] | None:
    """(title, message, error_code) for a request the real service would refuse."""
    for key in ("context_id", "model_id", "transcript", "voice", "output_format"):
        if key not in request:
            return "Invalid request", f"missing field {key}", "invalid_request"
    if request["model_id"] not in models:
        return "Invalid model", "The model is not valid", "model_not_found"
    voice = request["voice"]
    if not isinstance(voice, dict) or voice.get("mode") != "id" or voice.get("id") not in voices:
        return "Invalid voice", f"Voice {voice!r} not found", "voice_not_found"
    fmt = request["output_format"]
    if fmt.get("container") != "raw" or fmt.get("encoding") != "pcm_s16le":
        return "Invalid output format", "the fake only speaks raw pcm_s16le", "invalid_output"
    if not isinstance(fmt.get("sample_rate"), int) or fmt["sample_rate"] <= 0:
        return "Invalid output format", "bad sample_rate", "invalid_output"
    return None


def _error_event(
    status_code: int, title: str, message: str, error_code: str, *, context_id: Any
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "error",
        "done": True,
        "title": title,
        "message": message,
        "error_code": error_code,
        "status_code": status_code,
        "request_id": str(uuid.uuid4()),
    }
    if context_id is not None:
        event["context_id"] = context_id
    return event


def _json_error(status: int, title: str, message: str, error_code: str) -> web.Response:
    body = {"title": title, "message": message, "error_code": error_code}
    return web.json_response(body, status=status)
