"""Crypto-shredding of what the partner feeds pass on.

A partner's topic is read outside the platform and keeps its messages; a notice to delete
is only a request. So the fields of each forwarded event are sealed with a key of the
partner's subscription, the person, the consent it rests on and its data category (a
retention period can end for one category alone), kept only in the feed's
schema (``feed_keys``), never on a topic or in a log (logs name key ids). The partner fetches
the key with its own token (``GET /keys/{key_id}``). When the consent ends its key is
deleted, when a category's retention period ran out the category's keys of the person,
when the person is erased every key of the person: whatever copy of the messages
remains (the topic, the feed's outbox, a partner's backup of raw records) cannot be read
any more.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from contracts.intake import DataCategory
from contracts.partners import SealedData
from services.chassis import generations
from services.chassis.projection import DbConnection


@dataclass(frozen=True)
class FeedKey:
    """One key of a partner's subscription, for one person under one consent."""

    key_id: str
    person: str
    secret: bytes


def _associated_data(person: str, notice_id: UUID) -> bytes:
    # Binds the ciphertext to its message: it cannot be passed off as another person's.
    return f"{person}/{notice_id}".encode()


def seal_data(data: dict[str, Any], key: FeedKey, notice_id: UUID) -> SealedData:
    """``data`` as JSON, encrypted for the message ``notice_id`` about ``key.person``."""
    nonce = os.urandom(12)
    plaintext = json.dumps(data, sort_keys=True, default=str).encode()
    sealed = AESGCM(key.secret).encrypt(nonce, plaintext, _associated_data(key.person, notice_id))
    return SealedData(
        key_id=key.key_id,
        nonce=base64.b64encode(nonce).decode(),
        ciphertext=base64.b64encode(sealed).decode(),
    )


def open_data(sealed: SealedData, key: FeedKey, notice_id: UUID) -> dict[str, Any]:
    """What a partner does with a key it fetched (raises ``InvalidTag`` on a mismatch)."""
    plaintext = AESGCM(key.secret).decrypt(
        base64.b64decode(sealed.nonce),
        base64.b64decode(sealed.ciphertext),
        _associated_data(key.person, notice_id),
    )
    opened: dict[str, Any] = json.loads(plaintext)
    return opened


def new_token() -> tuple[str, bytes]:
    """A partner's token for the key endpoint, and the digest the registry keeps of it."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> bytes:
    """Only the digest is stored: a copy of the registry does not let anyone fetch keys."""
    return hashlib.sha256(token.encode()).digest()


def token_matches(token: str, digest: bytes | None) -> bool:
    """Constant-time comparison; a partner registered without a token matches nothing."""
    return digest is not None and hmac.compare_digest(token_digest(token), digest)


async def key_for(
    conn: DbConnection, case_id: UUID, consent_id: UUID, category: DataCategory, person: str
) -> FeedKey:
    """The key of the person under the consent for one data category, made on first use."""
    candidate = FeedKey(f"fk-{secrets.token_hex(12)}", person, AESGCM.generate_key(bit_length=256))
    await conn.execute(
        "INSERT INTO feed_keys (key_id, case_id, consent_id, category, person, secret)"
        " VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (case_id, consent_id, category) DO NOTHING",
        candidate.key_id,
        case_id,
        consent_id,
        category.value,
        person,
        candidate.secret,
    )
    row = await conn.fetchrow(
        "SELECT key_id, person, secret FROM feed_keys"
        " WHERE case_id = $1 AND consent_id = $2 AND category = $3",
        case_id,
        consent_id,
        category.value,
    )
    if row is None:  # pragma: no cover - inserted or already there in this transaction
        raise LookupError(f"no feed key for case {case_id}")
    return FeedKey(row["key_id"], row["person"], bytes(row["secret"]))


async def drop_consent_keys(conn: DbConnection, consent_id: UUID) -> int:
    """Delete the keys of a consent that ended; how many there were."""
    return len(
        await conn.fetch("DELETE FROM feed_keys WHERE consent_id = $1 RETURNING key_id", consent_id)
    )


async def drop_category_keys(conn: DbConnection, case_id: UUID, category: DataCategory) -> int:
    """Delete the person's keys of a category whose retention period ran out; a key from
    before keys were per category (no category) sealed that category too, and goes with it."""
    return len(
        await conn.fetch(
            "DELETE FROM feed_keys WHERE case_id = $1 AND (category = $2 OR category IS NULL)"
            " RETURNING key_id",
            case_id,
            category.value,
        )
    )


async def drop_person_keys(conn: DbConnection, case_id: UUID) -> int:
    """Delete every key of an erased person; how many there were."""
    return len(
        await conn.fetch("DELETE FROM feed_keys WHERE case_id = $1 RETURNING key_id", case_id)
    )


async def find_key(conn: DbConnection, schema: str, key_id: str) -> FeedKey | None:
    """A key of the feed kept in ``schema``; None once it was deleted (or never existed)."""
    try:
        row = await conn.fetchrow(
            f"SELECT key_id, person, secret FROM {generations.checked(schema)}.feed_keys"  # noqa: S608  # a checked name
            " WHERE key_id = $1",
            key_id,
        )
    except (asyncpg.InvalidSchemaNameError, asyncpg.UndefinedTableError):
        return None  # a renewed partner whose feed has not started yet: no key of it exists
    return None if row is None else FeedKey(row["key_id"], row["person"], bytes(row["secret"]))
