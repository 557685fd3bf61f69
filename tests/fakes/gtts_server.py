"""A local stand-in for Google Translate's `batchexecute` speech RPC, as gTTS 2.5.4 uses it.

gTTS posts `application/x-www-form-urlencoded` with one field, `f.req`:
`[[["jQ1olc", "<json: [text, lang, speed, \"null\"]>", null, "generic"]]]`, to
`/_/TranslateWebserverUi/data/batchexecute`. The answer is Google's chunked RPC
framing: `)]}'`, then length-prefixed lines; the line holding `jQ1olc` carries
the MP3 as base64 inside a JSON string (`"[\\"<base64>\\"]"`), which gTTS finds
with a regular expression. The MP3 is a real one: `tone_440hz_24k.mp3` is 0.5 s
of 440 Hz, 24 kHz mono, made once with
`lame -r -s 24 --bitwidth 16 --signed --little-endian -m m -b 32`; the fake
answers it repeated once per 20 characters of the part, so the audio's length
follows the text. Scripted faults: an error status, no audio in the answer, a
stall, a dropped connection.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
from pathlib import Path
from typing import Any, Final

from aiohttp import web

__all__ = ["MP3", "FakeGttsServer", "mp3_for"]

RPC_ID: Final = "jQ1olc"
PATH: Final = "/_/TranslateWebserverUi/data/batchexecute"
MP3: Final = (Path(__file__).parent / "tone_440hz_24k.mp3").read_bytes()
CHARS_PER_COPY: Final = 20


def mp3_for(text: str) -> bytes:
    """The MP3 the fake answers for one part of text."""
    return MP3 * max(1, -(-len(text) // CHARS_PER_COPY))


def _frame(payload: str) -> str:
    return f"{len(payload)}\n{payload}\n"


def rpc_answer(audio: bytes | None) -> str:
    inner = json.dumps([base64.b64encode(audio).decode()]) if audio is not None else None
    envelope = [["wrb.fr", RPC_ID, inner, None, None, None, "generic"], ["di", 58]]
    body = json.dumps(envelope, separators=(",", ":"))
    return ")]}'\n\n" + _frame(body) + _frame('[["e",4,null,null,137]]')


class FakeGttsServer:
    def __init__(self, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.ssl_context = ssl_context
        self.parts: list[dict[str, Any]] = []
        self.fail_status: list[int] = []
        self.no_audio_next = False
        self.stall_s = 0.0  # before answering
        self.stall_mid_s = 0.0  # after half the answer
        self.drop_mid = False  # close the socket after half the answer
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FakeGttsServer:
        app = web.Application()
        app.router.add_post(PATH, self._batchexecute)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.ssl_context)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _batchexecute(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        try:
            rpc = json.loads(str(form["f.req"]))
            rpc_id, parameter, _, kind = rpc[0][0]
            text, lang, speed, _null = json.loads(parameter)
        except (KeyError, ValueError, TypeError):
            return web.Response(status=400, text="bad f.req")
        if rpc_id != RPC_ID or kind != "generic":
            return web.Response(status=400, text="unknown rpc")
        self.parts.append(
            {"text": text, "lang": lang, "speed": speed, "headers": dict(request.headers)}
        )
        if self.stall_s:
            await asyncio.sleep(self.stall_s)
        if self.fail_status:
            return web.Response(status=self.fail_status.pop(0))
        audio = None if self.no_audio_next else mp3_for(text)
        self.no_audio_next = False
        body = rpc_answer(audio).encode()
        response = web.StreamResponse(headers={"Content-Type": "application/json; charset=utf-8"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        half = len(body) // 2
        await response.write(body[:half])
        if self.drop_mid:
            assert request.transport is not None
            request.transport.abort()
            return response
        if self.stall_mid_s:
            await asyncio.sleep(self.stall_mid_s)
        await response.write(body[half:])
        await response.write_eof()
        return response
