"""What every tip connector shares: the hand-over to the conductor, the
conversion of a provider's fields into a core `Tip`, and reconnecting.

Connectors are thin: they read their provider's protocol, build a `Tip`
whose id is the provider's own id (so the admission core's `duplicate` check
catches a redelivery after a reconnect or a restart), and hand it over.
Provider data is hostile input: a field that does not fit is one log line
(`tips.ignored`), never a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import aiohttp

from .. import logs
from ..core.decisions import Accepted, Decision
from ..core.events import Source, Tip, User
from ..core.fields import clean_field, is_currency_code

if TYPE_CHECKING:
    from ..conductor import Conductor

__all__ = [
    "RECONNECT_INITIAL_S",
    "RECONNECT_MAX_S",
    "AuthError",
    "BadTip",
    "Connector",
    "TipSink",
    "make_tip",
]

RECONNECT_INITIAL_S = 1.0
RECONNECT_MAX_S = 30.0  # a provider outage is retried at least twice a minute
MAX_MESSAGE_CHARS = 2000  # the filters cut far shorter; this only bounds memory
CONNECT_TIMEOUT_S = 15.0


class AuthError(Exception):
    """The provider refused our secret: retrying cannot help, the source stays off."""


class BadTip(ValueError):
    """A provider event that does not hold a readable tip (one line, then ignored)."""


def make_tip(
    source: Source,
    *,
    provider_id: object,
    name: object,
    amount: object,
    currency: object,
    message: object = "",
    private: bool = False,
) -> Tip:
    """A core `Tip` from a provider's raw fields; raises `BadTip` naming the field."""
    if not isinstance(provider_id, str | int) or not str(provider_id).strip():
        raise BadTip("no id")
    if isinstance(amount, bool) or not isinstance(amount, int | float | str):
        raise BadTip("amount is not a number")
    try:
        value = float(amount)  # Streamlabs and Ko-fi send strings
    except ValueError:
        raise BadTip("amount is not a number") from None
    if not (math.isfinite(value) and 0 < value < 1e9):
        raise BadTip("amount is not a positive number")
    code = currency.strip().upper() if isinstance(currency, str) else ""
    if not is_currency_code(code):
        raise BadTip("currency is not a currency code")
    text = message if isinstance(message, str) else ""
    display = clean_field(name) if isinstance(name, str) else ""
    if private:
        user, text = User("anonymous", "Someone"), ""
    else:
        login = "".join(display.lower().split()) or "anonymous"
        user = User(login, display or "Someone")
    return Tip.of(
        source,
        id=f"{source.value}:{str(provider_id).strip()[:200]}",
        user=user,
        amount=value,
        currency=code,
        message=text[:MAX_MESSAGE_CHARS],
        private=private,
    )


class TipSink:
    """Hands tips to the conductor and logs what the figures count."""

    def __init__(self, conductor: Conductor) -> None:
        self.conductor = conductor
        # currencies already logged as unknown (three-letter codes: bounded)
        self._unknown: set[str] = set()

    def ignored(self, source: Source, reason: str) -> None:
        logs.emit(logs.TIPS_IGNORED, source=source.value, reason=reason)

    async def submit(self, tip: Tip) -> Decision | None:
        money = self.conductor.admission.rules.money
        if not money.knows(tip.currency) and tip.currency not in self._unknown:
            self._unknown.add(tip.currency)
            logs.emit(
                logs.TIPS_UNKNOWN_CURRENCY,
                source=tip.source.value,
                currency=tip.currency,
                detail="not in money.rates: placed by the lowest tier",
            )
        try:
            decision = await self.conductor.ask(tip)
        except (RuntimeError, TimeoutError) as e:
            logs.emit(
                logs.TIPS_FAILED, source=tip.source.value, id=tip.id, error=str(e) or "timeout"
            )
            return None
        if isinstance(decision, Accepted):
            logs.emit(
                logs.TIPS_RECEIVED,
                source=tip.source.value,
                id=tip.id,
                amount=tip.amount,
                currency=tip.currency,
            )
        return decision


Session = Callable[[Callable[[], None]], Awaitable[str]]


class Connector:
    """Runs one provider's session again and again, with capped backoff.

    `session(connected)` holds one connection: it calls `connected()` once
    subscribed and returns (or raises) when the connection ends. Each change
    of state is one log line: `tips.connected`, `tips.disconnected` {source,
    error, retry_in_s}; `AuthError` ends the loop with `tips.failed`.
    """

    def __init__(
        self,
        source: Source,
        session: Session,
        *,
        secrets: tuple[str, ...] = (),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.source = source
        self._session = session
        self._sleep = sleep
        # a library's error may quote the URL, and the URL may hold the token
        self._secrets = tuple(s for s in secrets if s)
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self.connections = 0  # sessions that got as far as subscribed

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"tips:{self.source.value}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def _on_connected(self) -> None:
        self.connections += 1
        self.connected.set()
        logs.emit(logs.TIPS_CONNECTED, source=self.source.value)

    async def _run(self) -> None:
        delay = RECONNECT_INITIAL_S
        first = True
        while True:
            self.connected.clear()
            try:
                error = await self._session(self._on_connected)
            except AuthError as e:
                message = str(e)
                for secret in self._secrets:
                    message = message.replace(secret, "***")
                logs.emit(logs.TIPS_FAILED, source=self.source.value, error=message)
                return
            except asyncio.CancelledError:
                raise
            except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as e:
                error = f"{e.__class__.__name__}: {e}"[:300]
            except Exception as e:  # our bug: say so, keep the source alive
                logs.emit(
                    logs.TIPS_FAILED, source=self.source.value, error=f"{e.__class__.__name__}: {e}"
                )
                error = "internal error"
            for secret in self._secrets:
                error = error.replace(secret, "***")
            up = self.connected.is_set()
            if up:
                delay = RECONNECT_INITIAL_S  # it worked: the next try starts fast
            if up or first:  # a drop, or the first try failing: a change of state
                logs.emit(
                    logs.TIPS_DISCONNECTED,
                    source=self.source.value,
                    error=error,
                    retry_in_s=delay,
                )
            first = False
            await self._sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_S)


def http_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=None, connect=CONNECT_TIMEOUT_S)
    )


def obj(value: object) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one (missing keys stay missing)."""
    return value if isinstance(value, dict) else {}
