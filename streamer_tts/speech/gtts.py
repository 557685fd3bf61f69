"""Google Translate's voice through gTTS 2.5.4: no key, MP3 decoded in process.

gTTS cuts the text into parts of at most 100 characters and posts each to
`translate.google.<tld>/_/TranslateWebserverUi/data/batchexecute` with
`requests` (blocking), answering one MP3 (24 kHz mono) per part. One worker
thread advances gTTS's part generator, one part per job, and decodes it with
miniaudio; each part goes to the player as soon as it is decoded, so a long
message starts with its first part. `url` replaces the
`https://translate.google.<tld>` base (tests, proxies): gTTS builds that URL in
`_prepare_requests()`, which a subclass rewrites without touching the rest. The
subclass also sends with TLS verified (see `stream`).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final

from streamer_tts.speech.base import (
    Emit,
    EngineConfigError,
    EngineError,
    PcmFormat,
    StreamedSynthesis,
)

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator, Mapping

    import requests
    from gtts import gTTS

__all__ = ["GttsEngine", "GttsSynthesis", "decode_mp3"]

_LOG = logging.getLogger(__name__)
ENGINE_NAME: Final = "gtts"
_RATE_HZ: Final = 24000
_MAX_PARTS_AHEAD: Final = 8
"""Parts are ~100 characters (~6 s of speech): a few ahead hide the next request."""
_AUDIO: Final = re.compile(r'jQ1olc","\[\\"(.*)\\"]')
"""gTTS 2.5.4's own pattern for the base64 MP3 in the batchexecute answer."""
_JOB_MARGIN_S: Final = 2.0
"""requests' own (connect, read) timeouts bound each job; this catches anything else."""


def decode_mp3(data: bytes, sample_rate: int = _RATE_HZ) -> bytes:
    """MP3 bytes -> mono s16le PCM at `sample_rate` (miniaudio, in process, no ffmpeg)."""
    import miniaudio

    decoded = miniaudio.decode(
        data,
        output_format=miniaudio.SampleFormat.SIGNED16,
        nchannels=1,
        sample_rate=sample_rate,
    )
    return decoded.samples.tobytes()


def _make_tts(text: str, *, lang: str, tld: str, url: str | None, timeout_s: float) -> gTTS:
    """A gTTS whose requests go to `url` instead of https://translate.google.<tld>.

    gTTS 2.5.4 has no public way to set its endpoint: this is the one place
    that leans on its privates (`_prepare_requests`, `_translate_url`).
    """
    from gtts import gTTS
    from gtts.tts import gTTSError
    from gtts.utils import _translate_url

    class _Tts(gTTS):
        def _prepare_requests(self) -> list[requests.PreparedRequest]:
            prepared: list[requests.PreparedRequest] = super()._prepare_requests()
            if url is not None:
                google = _translate_url(tld=self.tld)
                for request in prepared:
                    assert request.url is not None and request.url.startswith(google)
                    request.url = url.rstrip("/") + "/" + request.url[len(google) :]
            return prepared

        def stream(self) -> Generator[bytes, None, None]:
            """gTTS's own `stream()`, but with TLS verified: gTTS 2.5.4 sends with
            `verify=False` and silences urllib3's warning for the whole process,
            which would let anyone on the path put words in the streamer's mouth."""
            import requests

            for prepared in self._prepare_requests():
                assert prepared.url is not None  # set by _prepare_requests
                response: requests.Response | None = None
                try:
                    with requests.Session() as session:
                        settings = session.merge_environment_settings(
                            prepared.url, {}, None, None, None
                        )
                        response = session.send(prepared, timeout=self.timeout, **settings)
                    response.raise_for_status()
                except requests.HTTPError:
                    raise gTTSError(tts=self, response=response) from None
                except requests.RequestException:
                    raise gTTSError(tts=self)  # noqa: B904 (the cause stays in __context__)
                for line in response.iter_lines(chunk_size=1024):
                    decoded = line.decode("utf-8")
                    if gTTS.GOOGLE_TTS_RPC in decoded:
                        found = _AUDIO.search(decoded)
                        if found is None:
                            raise gTTSError(tts=self, response=response)
                        yield base64.b64decode(found.group(1).encode("ascii"))

    return _Tts(text, lang=lang, tld=tld, lang_check=False, timeout=(timeout_s, timeout_s))


def _next_part(parts: Iterator[bytes]) -> bytes | None:
    """Runs in the worker thread: the next part's PCM, or None at the end."""
    import requests
    from gtts.tts import gTTSError

    try:
        mp3 = next(parts, None)
    except (gTTSError, requests.RequestException) as exc:
        # gTTS wraps a failed send in gTTSError; a failure while reading the
        # answer comes out of requests as is.
        if isinstance(exc, gTTSError) and exc.rsp is not None:  # an HTTP error status
            raise EngineError(ENGINE_NAME, str(exc).split(". Probable cause")[0]) from None
        cause = exc.__context__ if isinstance(exc, gTTSError) else exc
        if isinstance(cause, requests.Timeout):
            raise EngineError(ENGINE_NAME, "no answer in time") from None
        if isinstance(cause, requests.RequestException):
            raise EngineError(ENGINE_NAME, f"connection failed ({type(cause).__name__})") from None
        raise EngineError(ENGINE_NAME, str(exc).split(". Probable cause")[0]) from None
    if mp3 is None:
        return None
    try:
        return decode_mp3(mp3)
    except Exception as exc:  # miniaudio.DecodeError and friends
        raise EngineError(ENGINE_NAME, f"undecodable audio ({type(exc).__name__})") from None


class GttsEngine:
    """gTTS (Google Translate's voice); 24000 Hz mono s16le."""

    name: str = ENGINE_NAME

    def __init__(
        self,
        *,
        url: str | None = None,
        lang: str = "en",
        tld: str = "com",
        timeout_s: float = 5.0,
    ) -> None:
        self.url = url
        self.lang = lang
        self.tld = tld
        self.timeout_s = timeout_s
        self.format = PcmFormat(sample_rate=_RATE_HZ)
        self._executor: ThreadPoolExecutor | None = None
        self._active: set[GttsSynthesis] = set()

    async def start(self) -> None:
        """Check the packages and the language; no request (there is no key to check)."""
        try:
            import miniaudio  # noqa: F401
            from gtts.lang import tts_langs
        except ImportError as exc:
            raise EngineConfigError(ENGINE_NAME, f"{exc.name} is not installed") from None
        if self.lang not in tts_langs():
            raise EngineConfigError(ENGINE_NAME, f"unsupported language {self.lang!r}")
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gtts")

    def synthesize(
        self, text: str, *, voice: str | None = None, options: Mapping[str, Any] | None = None
    ) -> GttsSynthesis:
        """`voice` is ignored, as Piper does: a tier's voice may name another engine's.
        `options` are a voice alias's `lang` and `tld` (an accent), for this message."""
        if self._executor is None:
            raise RuntimeError("GttsEngine.synthesize() before start()")
        opts = options or {}
        return GttsSynthesis(self, text, opts.get("lang") or self.lang, opts.get("tld") or self.tld)

    async def close(self) -> None:
        for synthesis in list(self._active):
            await synthesis.cancel()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


class GttsSynthesis(StreamedSynthesis):
    """One message: gTTS's parts, each one executor job and one chunk."""

    def __init__(self, engine: GttsEngine, text: str, lang: str, tld: str) -> None:
        super().__init__(ENGINE_NAME, max_chunks_ahead=_MAX_PARTS_AHEAD)
        self._engine = engine
        self._text = text
        self._lang = lang
        self._tld = tld

    async def _produce(self, emit: Emit) -> None:
        engine = self._engine
        if not self._text.strip():
            return
        tts = _make_tts(
            self._text, lang=self._lang, tld=self._tld, url=engine.url, timeout_s=engine.timeout_s
        )
        parts = tts.stream()
        loop = asyncio.get_running_loop()
        engine._active.add(self)
        try:
            while True:
                executor = engine._executor
                if executor is None:
                    raise EngineError(ENGINE_NAME, "engine closed")
                job = loop.run_in_executor(executor, _next_part, parts)
                try:
                    pcm = await asyncio.wait_for(job, 2 * engine.timeout_s + _JOB_MARGIN_S)
                except TimeoutError:
                    raise EngineError(
                        ENGINE_NAME, f"no audio within {2 * engine.timeout_s:g} s"
                    ) from None
                if pcm is None:
                    return
                await emit(pcm)
        finally:
            engine._active.discard(self)
