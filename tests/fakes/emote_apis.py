"""7TV, BetterTTV and FrankerFaceZ on 127.0.0.1, speaking their public JSON shapes.

Only the endpoints `emotes --fetch` asks, with the fields it reads plus a few
it must ignore, as the real APIs send them:

- 7TV `GET /v3/users/twitch/<id>` -> `{"id", "platform", "user": {...},
  "emote_set": {"id", "name", "emotes": [{"id", "name", "data": {...}}]}}`;
  `GET /v3/emote-sets/global` -> `{"id", "name", "emotes": [...]}`.
- BTTV `GET /3/cached/users/twitch/<id>` -> `{"id", "bots", "avatar",
  "channelEmotes": [{"id", "code", "imageType", "userId"}], "sharedEmotes":
  [{"id", "code", "imageType", "user": {...}}]}`; `GET /3/cached/emotes/global`
  -> `[{"id", "code", "imageType", "userId"}]`.
- FFZ `GET /v1/room/id/<id>` -> `{"room": {"set": N, ...}, "sets": {"N":
  {"id", "title", "emoticons": [{"id", "name", "urls": {...}}]}}}`;
  `GET /v1/set/global` -> `{"default_sets": [3], "sets": {"3": {...}}}`.

An unknown channel is 404 with a JSON message, as the real APIs answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from aiohttp import web

__all__ = ["EmoteApis", "emote_apis"]


class EmoteApis:
    def __init__(self, channel_id: str) -> None:
        self.channel_id = channel_id
        self.seventv = ["KEKW", "Clap"]
        self.seventv_global = ["EZ"]
        self.bttv_channel = ["catJAM"]
        self.bttv_shared = ["pepeD"]
        self.bttv_global = ["monkaS"]
        self.ffz = ["LULW"]
        self.ffz_global = ["ZreknarF"]
        self.down: set[str] = set()  # "7tv", "bttv", "ffz": answer 503
        self.requests: list[str] = []
        self.url = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/7tv/v3/users/twitch/{id}", self._seventv_user)
        app.router.add_get("/7tv/v3/emote-sets/global", self._seventv_global)
        app.router.add_get("/bttv/3/cached/users/twitch/{id}", self._bttv_user)
        app.router.add_get("/bttv/3/cached/emotes/global", self._bttv_global)
        app.router.add_get("/ffz/v1/room/id/{id}", self._ffz_room)
        app.router.add_get("/ffz/v1/set/global", self._ffz_global)
        return app

    def _gate(self, request: web.Request, provider: str) -> web.Response | None:
        self.requests.append(request.path)
        if provider in self.down:
            return web.json_response({"error": "unavailable"}, status=503)
        if "id" in request.match_info and request.match_info["id"] != self.channel_id:
            return web.json_response({"message": "user not found", "status": 404}, status=404)
        return None

    @staticmethod
    def _stv(names: Iterable[str]) -> list[dict[str, object]]:
        return [
            {"id": f"stv{i}", "name": n, "flags": 0, "data": {"id": f"stv{i}", "name": n}}
            for i, n in enumerate(names)
        ]

    async def _seventv_user(self, request: web.Request) -> web.Response:
        if (refused := self._gate(request, "7tv")) is not None:
            return refused
        return web.json_response(
            {
                "id": self.channel_id,
                "platform": "TWITCH",
                "username": "streamer",
                "emote_capacity": 1000,
                "user": {"id": "u1", "username": "streamer"},
                "emote_set": {"id": "set1", "name": "Channel", "emotes": self._stv(self.seventv)},
            }
        )

    async def _seventv_global(self, request: web.Request) -> web.Response:
        if (refused := self._gate(request, "7tv")) is not None:
            return refused
        return web.json_response(
            {"id": "global", "name": "Global Emotes", "emotes": self._stv(self.seventv_global)}
        )

    @staticmethod
    def _bttv(names: Iterable[str], shared: bool = False) -> list[dict[str, object]]:
        who = {"user": {"id": "x", "name": "someone"}} if shared else {"userId": "x"}
        return [{"id": f"b{i}", "code": n, "imageType": "png", **who} for i, n in enumerate(names)]

    async def _bttv_user(self, request: web.Request) -> web.Response:
        if (refused := self._gate(request, "bttv")) is not None:
            return refused
        return web.json_response(
            {
                "id": "bttv-user",
                "bots": [],
                "avatar": "",
                "channelEmotes": self._bttv(self.bttv_channel),
                "sharedEmotes": self._bttv(self.bttv_shared, shared=True),
            }
        )

    async def _bttv_global(self, request: web.Request) -> web.Response:
        if (refused := self._gate(request, "bttv")) is not None:
            return refused
        return web.json_response(self._bttv(self.bttv_global))

    @staticmethod
    def _ffz_set(set_id: int, names: Iterable[str]) -> dict[str, object]:
        emoticons = [
            {"id": i, "name": n, "height": 32, "width": 32, "urls": {"1": "x"}}
            for i, n in enumerate(names)
        ]
        return {"id": set_id, "_type": 1, "title": "set", "emoticons": emoticons}

    async def _ffz_room(self, request: web.Request) -> web.Response:
        if (refused := self._gate(request, "ffz")) is not None:
            return refused
        return web.json_response(
            {
                "room": {"_id": 1, "twitch_id": int(self.channel_id), "set": 77, "css": None},
                "sets": {"77": self._ffz_set(77, self.ffz)},
            }
        )

    async def _ffz_global(self, request: web.Request) -> web.Response:
        if (refused := self._gate(request, "ffz")) is not None:
            return refused
        return web.json_response(
            {"default_sets": [3], "sets": {"3": self._ffz_set(3, self.ffz_global)}, "users": {}}
        )


@asynccontextmanager
async def emote_apis(channel_id: str = "654321") -> AsyncIterator[EmoteApis]:
    apis = EmoteApis(channel_id)
    runner = web.AppRunner(apis.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    apis.url = f"http://127.0.0.1:{port}"
    try:
        yield apis
    finally:
        await runner.cleanup()
