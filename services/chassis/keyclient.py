"""How readers obtain person keys: from intake, over HTTP, with the access token of their
client at the provider (client credentials); and how they open a sealed payload with the keys
its values name."""

from __future__ import annotations

import base64
from typing import Protocol, TypeVar
from uuid import UUID

import httpx
from pydantic import BaseModel

from services.chassis.crypto import PersonKey, key_ids, unseal
from services.chassis.oidc import ClientCredentials, OidcClientSettings

Model = TypeVar("Model", bound=BaseModel)


class KeySource(Protocol):
    """Where a reader finds a person's keys: by key id, or the current one."""

    async def find(self, case_id: UUID, key_id: str | None = None) -> PersonKey | None: ...

    def forget(self, case_id: UUID) -> None: ...


async def opened(model: Model, case_id: UUID, keys: KeySource) -> Model:
    """``model`` with its sealed values opened, each with the key it names (old events keep
    the key they were sealed with after a rotation); left sealed when a key is gone."""
    ring = [await keys.find(case_id, key_id) for key_id in sorted(key_ids(model))]
    found = [key for key in ring if key is not None]
    if not found or len(found) < len(ring):
        return model  # erased (or unknown): nothing of it is readable
    return unseal(model, *found)


def intake_http(intake_url: str, credentials: OidcClientSettings) -> httpx.AsyncClient:
    """An HTTP client for intake's key API that authenticates as the settings' client."""
    client = httpx.AsyncClient(base_url=intake_url, timeout=10.0)
    client.auth = ClientCredentials(client, credentials)
    return client


class IntakeKeyClient:
    """Fetches and caches person keys (over a client that authenticates, e.g.
    :func:`intake_http`); an erased or unknown key is reported as ``None``."""

    def __init__(self, client: httpx.AsyncClient, *, cache_size: int = 50_000) -> None:
        self._client = client
        self._cache: dict[UUID, dict[str, PersonKey]] = {}
        self._cache_size = cache_size

    async def find(self, case_id: UUID, key_id: str | None = None) -> PersonKey | None:
        cached = self._cache.get(case_id, {})
        if key_id is not None and key_id in cached:
            return cached[key_id]
        response = await self._client.get(
            f"/internal/person-keys/{case_id}",
            params={} if key_id is None else {"key_id": key_id},
        )
        if response.status_code == httpx.codes.NOT_FOUND:
            return None
        response.raise_for_status()
        body = response.json()
        key = PersonKey(case_id, body["key_id"], base64.b64decode(body["secret"]))
        if len(self._cache) >= self._cache_size:
            self._cache.clear()  # bounded memory; keys are cheap to fetch again
        # Only by its id: the current key may change by a rotation, a key id never does.
        self._cache.setdefault(case_id, {})[key.key_id] = key
        return key

    def forget(self, case_id: UUID) -> None:
        """Drop the person's cached keys (after an erasure event)."""
        self._cache.pop(case_id, None)
