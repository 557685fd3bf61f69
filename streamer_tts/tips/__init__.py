"""Tips from StreamElements, Streamlabs and Ko-fi, read directly.

`start_all()` starts every enabled connector; each runs on its own, so one
with a bad token stays off (one `tips.failed` line) while the rest of the
daemon runs. Tips go through the same admission core and journal as cheers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import logs
from ..core.events import Source
from .common import Connector, TipSink

if TYPE_CHECKING:
    from ..api.server import ControlApi
    from ..conductor import Conductor
    from ..config import Config

__all__ = ["Tips", "start_all"]


class Tips:
    """The running connectors of one daemon."""

    def __init__(self, sink: TipSink) -> None:
        self.sink = sink
        self.connectors: dict[Source, Connector] = {}
        self.webhooks: list[Source] = []

    async def stop(self) -> None:
        for connector in self.connectors.values():
            await connector.stop()


def start_all(config: Config, conductor: Conductor, api: ControlApi | None = None) -> Tips:
    """Start the enabled tip sources; `api` (the control API) serves Ko-fi's webhook."""
    from .kofi import Kofi
    from .streamelements import StreamElements
    from .streamlabs import Streamlabs

    sources = config.sources
    tips = Tips(TipSink(conductor))
    se, sl, kofi = sources.streamelements, sources.streamlabs, sources.kofi
    secrets = [
        s.get_secret_value() for s in (se.token, sl.token, kofi.verification_token) if s is not None
    ]
    logs.add_secrets(secrets)
    if se.enabled and se.token is not None:
        client = StreamElements(
            tips.sink,
            token=se.token.get_secret_value(),
            token_type=se.token_type,
            url=se.url,
            require_approved=se.require_approved,
        )
        tips.connectors[Source.STREAMELEMENTS] = Connector(
            client.source, client.session, secrets=(client.token,)
        )
    if sl.enabled and sl.token is not None:
        sl_client = Streamlabs(tips.sink, token=sl.token.get_secret_value(), url=sl.url)
        tips.connectors[Source.STREAMLABS] = Connector(
            sl_client.source, sl_client.session, secrets=(sl_client.token,)
        )
    for connector in tips.connectors.values():
        connector.start()
    if kofi.enabled and kofi.verification_token is not None:
        if api is None:
            logs.emit(
                logs.TIPS_FAILED,
                source="kofi",
                error="the Ko-fi webhook is served by the control API, which is not running",
            )
        else:
            hook = Kofi(
                tips.sink,
                verification_token=kofi.verification_token.get_secret_value(),
                types=kofi.types,
            )
            api.webhooks.handlers["kofi"] = hook.handle
            tips.webhooks.append(Source.KOFI)
            logs.emit(logs.TIPS_CONNECTED, source="kofi", url=f"{api.url}/webhooks/kofi")
    return tips
