"""How readers obtain person keys: from intake, over HTTP, with their bearer token."""

from __future__ import annotations

import base64
from uuid import UUID

import httpx

from services.chassis.crypto import PersonKey


class IntakeKeyClient:
    """Fetches and caches person keys; an erased or unknown key is reported as ``None``."""

    def __init__(self, client: httpx.AsyncClient, token: str, *, cache_size: int = 50_000) -> None:
        self._client = client
        self._token = token
        self._cache: dict[UUID, PersonKey] = {}
        self._cache_size = cache_size

    async def find(self, case_id: UUID) -> PersonKey | None:
        cached = self._cache.get(case_id)
        if cached is not None:
            return cached
        response = await self._client.get(
            f"/internal/person-keys/{case_id}",
            headers={"Authorization": f"Bearer {self._token}"},
        )
        if response.status_code == httpx.codes.NOT_FOUND:
            return None
        response.raise_for_status()
        body = response.json()
        key = PersonKey(case_id, body["key_id"], base64.b64decode(body["secret"]))
        if len(self._cache) >= self._cache_size:
            self._cache.clear()  # bounded memory; keys are cheap to fetch again
        self._cache[case_id] = key
        return key

    def forget(self, case_id: UUID) -> None:
        """Drop a cached key (after an erasure event)."""
        self._cache.pop(case_id, None)
