"""A local stand-in for Azure AI Speech's text-to-speech REST API (aiohttp, 127.0.0.1, port 0).

It speaks the documented exchange: `GET /cognitiveservices/voices/list` and
`POST /cognitiveservices/v1` with `Ocp-Apim-Subscription-Key`,
`Content-Type: application/ssml+xml`, `X-Microsoft-OutputFormat` and a
`User-Agent`; an SSML body `<speak version='1.0' xml:lang='..'><voice
name='..'>text</voice></speak>`; 401 for a bad key, 400 for SSML that does not
parse, 429 when throttled; the audio streamed in chunks as it is "made". The
audio is a tone whose length follows the text, so a test can predict it
exactly; scripted faults: an error status, a stall, a dropped connection.
"""

from __future__ import annotations

import asyncio
import math
import xml.etree.ElementTree as ET
from typing import Any, Final

import numpy as np
from aiohttp import web

__all__ = ["FORMATS", "FakeAzureServer", "tone_pcm"]

KEY: Final = "azure-fake-key-0123456789"
VOICES: Final = ("en-US-AriaNeural", "en-GB-RyanNeural")
FORMATS: Final = {"raw-24khz-16bit-mono-pcm": 24000, "raw-48khz-16bit-mono-pcm": 48000}
MS_PER_CHAR: Final = 40
MAX_AUDIO_S: Final = 10.0
TONE_HZ: Final = 660.0
TONE_AMPLITUDE: Final = 9000
CHUNK_S: Final = 0.05


def tone_pcm(text: str, sample_rate: int) -> bytes:
    """The exact s16le mono audio the fake returns for `text`."""
    n = round(min(len(text) * MS_PER_CHAR / 1000, MAX_AUDIO_S) * sample_rate)
    t = np.arange(n, dtype=np.float64) / sample_rate
    return np.round(TONE_AMPLITUDE * np.sin(2 * math.pi * TONE_HZ * t)).astype("<i2").tobytes()


class FakeAzureServer:
    def __init__(self) -> None:
        self.keys: set[str] = {KEY}
        self.key = KEY
        self.requests: list[dict[str, Any]] = []
        self.fail_status: list[int] = []  # statuses for the next syntheses, in order
        self.stall_first_s = 0.0  # before the response headers
        self.stall_after_chunks: int | None = None  # stop sending after N chunks...
        self.stall_s = 0.0  # ...for this long
        self.drop_after_chunks: int | None = None  # close the socket after N chunks
        self.chunk_delay_s = 0.0
        self.syntheses = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> FakeAzureServer:
        app = web.Application()
        app.router.add_get("/cognitiveservices/voices/list", self._voices)
        app.router.add_post("/cognitiveservices/v1", self._synthesize)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Ocp-Apim-Subscription-Key") in self.keys

    async def _voices(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return web.Response(status=401, text="Access denied due to invalid subscription key.")
        return web.json_response(
            [{"ShortName": v, "Locale": v[:5], "SampleRateHertz": "24000"} for v in VOICES]
        )

    async def _synthesize(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        record: dict[str, Any] = {"headers": dict(request.headers), "body": body}
        self.requests.append(record)
        if not self._authorized(request):
            return web.Response(status=401)
        if self.stall_first_s:
            await asyncio.sleep(self.stall_first_s)
        if self.fail_status:
            status = self.fail_status.pop(0)
            return web.Response(status=status, text=f"scripted {status}")
        rate = FORMATS.get(request.headers.get("X-Microsoft-OutputFormat", ""))
        if (
            request.headers.get("Content-Type") != "application/ssml+xml"
            or not request.headers.get("User-Agent")
            or rate is None
        ):
            return web.Response(status=400, text="bad headers")
        try:
            speak = ET.fromstring(body.decode("utf-8"))
        except (ET.ParseError, UnicodeDecodeError):
            return web.Response(status=400, text="SSML does not parse")
        voice = speak.find("voice")
        if speak.tag != "speak" or speak.get("version") != "1.0" or voice is None:
            return web.Response(status=400, text="not SSML")
        if voice.get("name") not in VOICES or len(voice):
            return web.Response(status=400, text="unknown voice or nested markup")
        text = voice.text or ""
        record["text"] = text
        record["voice"] = voice.get("name")
        record["lang"] = speak.get("{http://www.w3.org/XML/1998/namespace}lang")
        self.syntheses += 1
        return await self._stream(request, tone_pcm(text, rate), rate)

    async def _stream(self, request: web.Request, pcm: bytes, rate: int) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "audio/x-wav"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        step = round(CHUNK_S * rate) * 2 + 1  # odd: chunks split samples, as the wire may
        for n, offset in enumerate(range(0, len(pcm), step)):
            if n == self.drop_after_chunks:
                assert request.transport is not None
                request.transport.abort()
                return response
            if n == self.stall_after_chunks:
                await asyncio.sleep(self.stall_s)
            await response.write(pcm[offset : offset + step])
            if self.chunk_delay_s:
                await asyncio.sleep(self.chunk_delay_s)
        await response.write_eof()
        return response
