"""A network partner's side of the key endpoint: fetching a key of what it received, and
opening an event with it, as an integrator would."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import httpx

from contracts.partners import ForwardedEvent
from services.projections.partner_keys import FeedKey, open_data


@dataclass(frozen=True)
class PartnerKeys:
    """The ``keys.url`` and ``keys.token`` that ``partners add`` gave the partner."""

    url: str
    token: str

    async def key(self, key_id: str, token: str | None = None) -> httpx.Response:
        """The partner's request for a key (with its own token unless another is given)."""
        async with httpx.AsyncClient(base_url=self.url) as client:
            return await client.get(
                f"/keys/{key_id}", headers={"Authorization": f"Bearer {token or self.token}"}
            )

    async def opened(self, message: ForwardedEvent) -> dict[str, Any]:
        """What the partner reads in an event, with the key it fetched for it."""
        answer = await self.key(message.data.key_id)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        key = FeedKey(body["key_id"], body["person"], base64.b64decode(body["secret"]))
        assert key.person == message.person
        return open_data(message.data, key, message.notice_id)
