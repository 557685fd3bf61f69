"""Ko-fi's side of the webhook: the form post it sends on each payment."""

from __future__ import annotations

import json
import uuid
from typing import Any

import aiohttp

__all__ = ["kofi_payload", "post_kofi"]


def kofi_payload(
    token: str,
    transaction_id: str,
    from_name: str,
    amount: str,
    currency: str = "USD",
    message: str = "",
    *,
    is_public: bool = True,
    kind: str = "Donation",
) -> dict[str, Any]:
    """The `data` object of one Ko-fi webhook, with the documented fields."""
    return {
        "verification_token": token,
        "message_id": str(uuid.uuid4()),
        "timestamp": "2022-08-21T13:04:30Z",
        "type": kind,
        "is_public": is_public,
        "from_name": from_name,
        "message": message,
        "amount": amount,
        "url": f"https://ko-fi.com/Home/CoffeeShop?txid={transaction_id}",
        "email": "someone@example.com",
        "currency": currency,
        "is_subscription_payment": kind == "Subscription",
        "is_first_subscription_payment": False,
        "kofi_transaction_id": transaction_id,
        "shop_items": None,
        "tier_name": None,
        "shipping": None,
    }


async def post_kofi(url: str, data: dict[str, Any] | str) -> tuple[int, str]:
    """POST it as Ko-fi does: form-encoded, the JSON in the field `data`."""
    body = data if isinstance(data, str) else json.dumps(data)
    async with aiohttp.ClientSession() as http, http.post(url, data={"data": body}) as r:
        return r.status, await r.text()
