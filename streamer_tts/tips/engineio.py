"""A small Engine.IO v3 / Socket.IO v2 client over a WebSocket (aiohttp).

Streamlabs' Socket API still speaks Engine.IO 3; python-socketio 5 speaks
only 4, and the libraries that spoke 3 are no longer kept. What is needed
is small: text packets, one namespace, events in and nothing out.

Engine.IO 3 packets are a digit and a payload: `0` open (JSON with `sid`,
`pingInterval`, `pingTimeout` in ms), `1` close, `2` ping, `3` pong, `4`
message, `6` noop. In v3 the *client* pings (`2`) every `pingInterval` and
the server answers `3`; no pong within `pingTimeout` means the link is dead.
A message carries a Socket.IO packet: `40` connected to the default
namespace, `41` disconnected, `42[name, data]` an event, `44<json>` an error
(how a server refuses the connection, e.g. a bad token).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp
from aiohttp import WSMsgType

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

__all__ = ["EngineIOError", "Open", "RefusedError", "connect_url", "events", "parse"]

OPEN, CLOSE, PING, PONG, MESSAGE, UPGRADE, NOOP = "0123456"
SIO_CONNECT, SIO_DISCONNECT, SIO_EVENT, SIO_ACK, SIO_ERROR = "01234"
OPEN_TIMEOUT_S = 10.0
MAX_FRAME_BYTES = 1 << 20


class EngineIOError(ConnectionError):
    """The link broke or the server spoke something else."""


class RefusedError(EngineIOError):
    """The server refused the connection (`44...`, or HTTP 401/403)."""


@dataclass(frozen=True, slots=True)
class Open:
    sid: str
    ping_interval_s: float
    ping_timeout_s: float


def connect_url(base: str, params: dict[str, str]) -> str:
    """`https://host` -> `wss://host/socket.io/?EIO=3&transport=websocket&...`."""
    parts = urlsplit(base)
    scheme = {"https": "wss", "http": "ws"}.get(parts.scheme, parts.scheme)
    path = parts.path.rstrip("/") + "/socket.io/"
    query = urlencode({"EIO": "3", "transport": "websocket", **params})
    return urlunsplit((scheme, parts.netloc, path, query, ""))


def parse(text: str) -> tuple[str, str]:
    """(packet type, payload); raises EngineIOError on an empty or unknown packet."""
    if not text or text[0] not in "0123456":
        raise EngineIOError(f"not an Engine.IO packet: {text[:40]!r}")
    return text[0], text[1:]


def parse_open(payload: str) -> Open:
    try:
        data = json.loads(payload)
        return Open(
            str(data["sid"]),
            float(data["pingInterval"]) / 1000,
            float(data["pingTimeout"]) / 1000,
        )
    except (ValueError, KeyError, TypeError) as e:
        raise EngineIOError(f"bad open packet ({e.__class__.__name__})") from None


def parse_event(payload: str) -> tuple[str, Any]:
    """`[name, data]` of a Socket.IO event payload (after `42`)."""
    try:
        data = json.loads(payload)
    except ValueError:
        raise ValueError("event is not JSON") from None
    if not isinstance(data, list) or not data or not isinstance(data[0], str):
        raise ValueError("event is not [name, data]")
    return data[0], data[1] if len(data) > 1 else None


async def events(
    http: aiohttp.ClientSession, url: str, *, on_open: Callable[[], None] | None = None
) -> AsyncIterator[tuple[str, Any] | ValueError]:
    """Connect and yield each Socket.IO event as (name, data), a malformed
    one as a ValueError; returns when the server closes, raises
    EngineIOError when the link dies or RefusedError when refused.

    `on_open()` is called once the namespace is connected (`40`).
    """
    try:
        ws = await http.ws_connect(url, max_msg_size=MAX_FRAME_BYTES, autoping=True)
    except aiohttp.WSServerHandshakeError as e:
        if e.status in (401, 403):
            raise RefusedError(f"HTTP {e.status} {e.message}") from None
        raise
    pinger: asyncio.Task[None] | None = None
    try:
        hello = await _receive(ws, OPEN_TIMEOUT_S)
        if hello is None:
            raise EngineIOError("closed before the open packet")
        kind, payload = parse(hello)
        if kind != OPEN:
            raise EngineIOError(f"expected an open packet, got {hello[:40]!r}")
        opened = parse_open(payload)
        pong = asyncio.Event()
        pinger = asyncio.create_task(_ping(ws, opened, pong))
        while True:
            wait = opened.ping_interval_s + opened.ping_timeout_s
            text = await _receive(ws, wait)
            if text is None:
                if pinger.done() and not pinger.cancelled() and pinger.exception():
                    raise EngineIOError(str(pinger.exception()))
                return
            kind, payload = parse(text)
            if kind == PING:  # an Engine.IO 4 habit; answering costs nothing
                await ws.send_str(PONG + payload)
            elif kind == PONG:
                pong.set()
            elif kind == CLOSE:
                return
            elif kind == MESSAGE:
                sio, body = (payload[:1], payload[1:]) if payload else ("", "")
                if sio == SIO_CONNECT and on_open is not None:
                    on_open()
                elif sio == SIO_ERROR:
                    raise RefusedError(_error_text(body))
                elif sio == SIO_DISCONNECT:
                    return
                elif sio == SIO_EVENT:
                    try:
                        yield parse_event(body)
                    except ValueError as e:
                        yield e
    finally:
        if pinger is not None:
            pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pinger
        await ws.close()


def _error_text(body: str) -> str:
    with contextlib.suppress(ValueError):
        data = json.loads(body)
        if isinstance(data, dict):
            data = data.get("message", data)
        return str(data)[:200]
    return body[:200]


async def _receive(ws: aiohttp.ClientWebSocketResponse, timeout_s: float) -> str | None:
    """The next text frame; None when the server closed the socket."""
    while True:
        try:
            msg = await ws.receive(timeout=timeout_s)
        except TimeoutError:
            raise EngineIOError(f"nothing received for {timeout_s:g} s") from None
        if msg.type == WSMsgType.TEXT:
            return str(msg.data)
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
            return None
        if msg.type == WSMsgType.ERROR:
            raise EngineIOError(f"socket error: {ws.exception()}")


async def _ping(ws: aiohttp.ClientWebSocketResponse, opened: Open, pong: asyncio.Event) -> None:
    """Engine.IO 3: the client pings; a missing pong closes the socket."""
    while True:
        await asyncio.sleep(opened.ping_interval_s)
        pong.clear()
        await ws.send_str(PING)
        try:
            await asyncio.wait_for(pong.wait(), opened.ping_timeout_s)
        except TimeoutError:
            await ws.close()
            raise EngineIOError(f"no pong within {opened.ping_timeout_s:g} s") from None
