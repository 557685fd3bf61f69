"""The demo's tip providers: one tip from each, through the real connectors."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .astro import FakeAstro
from .kofi import kofi_payload, post_kofi
from .streamlabs import FakeStreamlabs

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ["DemoProviders", "demo_providers"]

SE_TOKEN = "demo-streamelements-jwt"
SL_TOKEN = "demo-streamlabs-socket-token"
KOFI_TOKEN = "demo-kofi-verification-token"


@dataclass
class DemoProviders:
    astro: FakeAstro
    streamlabs: FakeStreamlabs

    def sources(self) -> dict[str, Any]:
        """The `sources:` entries that point the connectors at these fakes."""
        return {
            "streamelements": {"enabled": True, "token": SE_TOKEN, "url": self.astro.url},
            "streamlabs": {"enabled": True, "token": SL_TOKEN, "url": self.streamlabs.url},
            "kofi": {"enabled": True, "verification_token": KOFI_TOKEN},
        }

    async def send_tips(self, api_url: str) -> None:
        """One tip per provider, once each connector is listening."""
        await self.astro.wait_subscribed(1)
        await self.streamlabs.wait_connected(1)
        await self.astro.tip("demo-se-1", "EuroFan", 25, "EUR", "Greetings from Berlin!")
        await self.streamlabs.donation("demo-sl-1", "TeaTime", "4.00", "GBP", "Cheers, mate")
        tip = kofi_payload(KOFI_TOKEN, "demo-kofi-1", "CoffeeCat", "3.00", "USD", "Buy a coffee!")
        await post_kofi(f"{api_url}/webhooks/kofi", tip)


@contextlib.asynccontextmanager
async def demo_providers() -> AsyncIterator[DemoProviders]:
    async with FakeAstro(token=SE_TOKEN) as astro, FakeStreamlabs(token=SL_TOKEN) as streamlabs:
        yield DemoProviders(astro, streamlabs)
