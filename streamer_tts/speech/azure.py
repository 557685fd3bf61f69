"""Cloud speech with Azure AI Speech over its REST API, streamed, with aiohttp.

One `POST <endpoint>/cognitiveservices/v1` per message with an SSML body; the
service streams raw PCM while it synthesises, so each chunk goes to the player
as it arrives. Viewer text is XML-escaped whole (SSML is markup: an unescaped
`<` would be a 400, or worse, an instruction), and characters XML cannot carry
at all are dropped. The key is checked at start on the voices list: a rejected
key is one line, without the key. Every wait has a timeout.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any, Final
from xml.sax.saxutils import escape, quoteattr

import aiohttp

from streamer_tts.speech.base import (
    Emit,
    EngineConfigError,
    EngineError,
    PcmFormat,
    StreamedSynthesis,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["AzureEngine", "AzureSynthesis", "ssml"]

_LOG = logging.getLogger(__name__)
ENGINE_NAME: Final = "azure"
OUTPUT_FORMAT: Final = "raw-24khz-16bit-mono-pcm"
_RATE_HZ: Final = 24000
_USER_AGENT: Final = "streamer-tts"
_READ_BYTES: Final = 8192
_MAX_CHUNKS_AHEAD: Final = 1024
"""A whole message's chunks: keeping the socket drained loses nothing if it drops late."""
_NOT_XML: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_STATUS: Final = {
    400: "bad request (400): the SSML or a header was refused",
    401: "key rejected (401)",
    403: "key rejected (403)",
    429: "throttled (429): too many requests",
}


def ssml(text: str, voice: str) -> str:
    """The request body: every viewer character escaped, XML-impossible ones dropped."""
    lang = "-".join(voice.split("-")[:2]) or "en-US"
    body = escape(_NOT_XML.sub("", text), {"'": "&apos;", '"': "&quot;"})
    return (
        f"<speak version='1.0' xml:lang={quoteattr(lang)}>"
        f"<voice name={quoteattr(voice)}>{body}</voice></speak>"
    )


def _status_text(status: int) -> str:
    return _STATUS.get(status, f"HTTP {status}")


class AzureEngine:
    """Azure neural voices; 24000 Hz mono s16le."""

    name: str = ENGINE_NAME

    def __init__(
        self,
        *,
        key: str,
        region: str = "eastus",
        endpoint: str | None = None,
        voice: str = "en-US-AriaNeural",
        timeout_s: float = 5.0,
    ) -> None:
        self._key = key
        self.base_url = (endpoint or f"https://{region}.tts.speech.microsoft.com").rstrip("/")
        self.voice = voice
        self.timeout_s = timeout_s
        self.format = PcmFormat(sample_rate=_RATE_HZ)
        self._session: aiohttp.ClientSession | None = None
        self._active: set[AzureSynthesis] = set()

    async def start(self) -> None:
        """Check the key and the voice on the voices list; EngineConfigError if refused."""
        if not self._key:
            raise EngineConfigError(ENGINE_NAME, "no key (set engine.azure.key)")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers={"Ocp-Apim-Subscription-Key": self._key, "User-Agent": _USER_AGENT},
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.timeout_s),
            )
        try:
            await self._check_voice()
        except BaseException:
            await self.close()
            raise

    async def _check_voice(self) -> None:
        assert self._session is not None
        url = f"{self.base_url}/cognitiveservices/voices/list"
        try:
            async with asyncio.timeout(self.timeout_s):
                async with self._session.get(url) as response:
                    if response.status in (401, 403):
                        raise EngineConfigError(ENGINE_NAME, _status_text(response.status))
                    if response.status != 200:
                        raise EngineError(
                            ENGINE_NAME, f"voice check failed ({_status_text(response.status)})"
                        )
                    voices = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise EngineError(
                ENGINE_NAME, f"cannot reach {self.base_url} ({type(exc).__name__})"
            ) from None
        names = {v.get("ShortName") for v in voices if isinstance(v, dict)}
        if self.voice not in names:
            raise EngineConfigError(ENGINE_NAME, f"unknown voice {self.voice!r}")

    def synthesize(
        self, text: str, *, voice: str | None = None, options: Mapping[str, Any] | None = None
    ) -> AzureSynthesis:
        """`voice` is ignored, as Piper does: a tier's voice may name another engine's.
        `options` is a voice alias's `voice` (a neural voice name), for this message."""
        if self._session is None:
            raise RuntimeError("AzureEngine.synthesize() before start()")
        return AzureSynthesis(self, text, (options or {}).get("voice") or self.voice)

    async def close(self) -> None:
        for synthesis in list(self._active):
            await synthesis.cancel()
        session, self._session = self._session, None
        if session is not None:
            await session.close()


class AzureSynthesis(StreamedSynthesis):
    """One message: one POST, its body streamed to the player chunk by chunk."""

    def __init__(self, engine: AzureEngine, text: str, voice: str) -> None:
        super().__init__(ENGINE_NAME, max_chunks_ahead=_MAX_CHUNKS_AHEAD)
        self._engine = engine
        self._text = text
        self._voice = voice

    async def _produce(self, emit: Emit) -> None:
        engine = self._engine
        session = engine._session
        if session is None:
            raise EngineError(ENGINE_NAME, "engine closed")
        if not self._text.strip():
            return
        engine._active.add(self)
        try:
            await self._request(session, emit)
        except aiohttp.ClientPayloadError:
            raise EngineError(ENGINE_NAME, "connection dropped mid-message") from None
        except aiohttp.ClientError as exc:
            raise EngineError(
                ENGINE_NAME, f"cannot reach {engine.base_url} ({type(exc).__name__})"
            ) from None
        finally:
            engine._active.discard(self)

    async def _request(self, session: aiohttp.ClientSession, emit: Emit) -> None:
        engine = self._engine
        timeout_s = engine.timeout_s
        try:
            async with asyncio.timeout(timeout_s):
                response = await session.post(
                    f"{engine.base_url}/cognitiveservices/v1",
                    data=ssml(self._text, self._voice).encode(),
                    headers={
                        "Content-Type": "application/ssml+xml",
                        "X-Microsoft-OutputFormat": OUTPUT_FORMAT,
                    },
                )
        except TimeoutError:
            raise EngineError(ENGINE_NAME, f"no answer within {timeout_s:g} s") from None
        async with response:
            if response.status != 200:
                raise EngineError(ENGINE_NAME, _status_text(response.status))
            got_audio, carry = False, b""
            while True:
                try:
                    async with asyncio.timeout(timeout_s):
                        data = await response.content.read(_READ_BYTES)
                except TimeoutError:
                    what = "more audio" if got_audio else "first audio"
                    raise EngineError(ENGINE_NAME, f"no {what} within {timeout_s:g} s") from None
                if not data:
                    break
                data = carry + data
                whole = len(data) - len(data) % 2
                carry = data[whole:]
                got_audio = True
                await emit(data[:whole])
        if not got_audio:
            raise EngineError(ENGINE_NAME, "empty answer")
