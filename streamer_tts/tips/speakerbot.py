"""Speaker.bot-compatible requests on the control API's `/ws`.

Streamer.bot drives Speaker.bot over a WebSocket with requests shaped
`{"id": "<id>", "request": "Speak", "voice": "<alias>", "message": "..."}`
(speaker.bot/api/websocket/requests) and reads replies in Streamer.bot's
shape `{"id": "<id>", "status": "ok" | "error"}`. Pointing that integration
at our `/ws` makes the same actions drive this daemon: each request becomes
one of the API's own messages, so the same token, admission and limits apply.

`Disable`/`Enable` are `pause`/`resume`: reading stops and nothing waiting
is lost (a Speaker.bot "disabled" engine would drop what arrives; a tip must
not be lost to a toggle). `Speak` is the API's `tts`: the streamer's tool
speaking, read as given; the voice alias is not mapped (one voice reads).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["REQUESTS", "answer", "is_request"]

Handle = Callable[[object], Awaitable[tuple[dict[str, Any], int]]]

# Speaker.bot request -> the control API's message type
REQUESTS = {
    "Speak": "tts",
    "Stop": "skip",
    "Pause": "pause",
    "Resume": "resume",
    "Clear": "clear",
    "Disable": "pause",
    "Enable": "resume",
}


def is_request(data: object) -> bool:
    """A Speaker.bot/Streamer.bot request rather than one of our own messages."""
    return isinstance(data, dict) and "request" in data and "type" not in data


async def answer(handle: Handle, data: dict[str, Any]) -> dict[str, Any]:
    """Carry out one request through `handle` (the API's) and reply in kind."""
    rid = data.get("id")
    name = data.get("request")
    kind = REQUESTS.get(name) if isinstance(name, str) else None
    if kind is None:
        supported = ", ".join(REQUESTS)
        return {
            "id": rid,
            "status": "error",
            "error": f"request {name!r} is not supported ({supported})",
        }
    message: dict[str, Any] = {"type": kind}
    if kind == "tts":
        text = data.get("message")
        if not isinstance(text, str) or not text.strip():
            return {"id": rid, "status": "error", "error": "Speak needs a message"}
        message["text"] = text[:2000]
    reply, _ = await handle(message)
    if reply.get("ok"):
        out = {"id": rid, "status": "ok"}
        if reply.get("id"):
            out["messageId"] = reply["id"]
        return out
    return {"id": rid, "status": "error", "error": str(reply.get("error", "refused"))}
