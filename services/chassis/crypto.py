"""Sealing and unsealing of the fields contracts mark personal (AES-GCM, one key per person).

Erasure is a key deletion: once the key is gone every sealed copy, in any store or topic,
is unreadable. The associated data binds a ciphertext to its case and field, so a sealed
value cannot be moved to another person or field unnoticed.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel

from contracts.personal import Sealed, personal_fields

Model = TypeVar("Model", bound=BaseModel)


class KeyUnavailableError(Exception):
    """The person's key is unknown or was erased: personal fields stay sealed."""


@dataclass(frozen=True)
class PersonKey:
    """A person's data key; ``key_id`` travels with every value it sealed."""

    case_id: UUID
    key_id: str
    secret: bytes

    @classmethod
    def generate(cls, case_id: UUID, key_id: str) -> PersonKey:
        return cls(case_id=case_id, key_id=key_id, secret=AESGCM.generate_key(bit_length=256))


def _associated_data(case_id: UUID, field: str) -> bytes:
    return f"{case_id}/{field}".encode()


def seal(model: Model, key: PersonKey) -> Model:
    """A copy of ``model`` with every plaintext personal field encrypted."""
    aead = AESGCM(key.secret)
    sealed: dict[str, Any] = {}
    for field in personal_fields(type(model)):
        value = getattr(model, field)
        if value is None or isinstance(value, Sealed):
            continue
        nonce = os.urandom(12)
        plaintext = json.dumps(value, default=str).encode()
        ciphertext = aead.encrypt(nonce, plaintext, _associated_data(key.case_id, field))
        sealed[field] = Sealed(
            key_id=key.key_id,
            nonce=base64.b64encode(nonce).decode(),
            ciphertext=base64.b64encode(ciphertext).decode(),
        )
    return model.model_copy(update=sealed)


def unseal(model: Model, key: PersonKey) -> Model:
    """A copy of ``model`` with its sealed fields decrypted and validated again."""
    aead = AESGCM(key.secret)
    opened: dict[str, Any] = {}
    for field in personal_fields(type(model)):
        value = getattr(model, field)
        if not isinstance(value, Sealed):
            continue
        if value.key_id != key.key_id:
            raise KeyUnavailableError(f"{field} was sealed with key {value.key_id}")
        plaintext = aead.decrypt(
            base64.b64decode(value.nonce),
            base64.b64decode(value.ciphertext),
            _associated_data(key.case_id, field),
        )
        opened[field] = json.loads(plaintext)
    return type(model).model_validate({**model.model_dump(), **opened})
