"""Sealing and unsealing of the fields contracts mark personal (AES-GCM, one key per person).

Erasure is a key deletion: once the key is gone every sealed copy, in any store or topic,
is unreadable. The associated data binds a ciphertext to its case and field, so a sealed
value cannot be moved to another person or field unnoticed.

A person may have several keys over time (rotation): each sealed value names the key it was
sealed with, nothing published is ever re-encrypted, and a reader opens each value with the
key it names.
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
    """A copy of ``model`` with every plaintext personal field encrypted, nested parts too."""
    return _sealed(model, key, AESGCM(key.secret), "")


def unseal(model: Model, *keys: PersonKey) -> Model:
    """A copy of ``model`` with its sealed fields decrypted (each with the key it names among
    ``keys``) and validated again; a value naming a key not given raises."""
    ring = {key.key_id: (key, AESGCM(key.secret)) for key in keys}
    opened = _opened(model, ring, "")
    return type(model).model_validate(opened)


def key_ids(model: BaseModel) -> frozenset[str]:
    """The ids of the keys the sealed values of ``model`` (nested parts too) were sealed with."""
    found: set[str] = set()
    for value in model.__dict__.values():
        parts = value if isinstance(value, tuple) else (value,)
        for part in parts:
            if isinstance(part, Sealed):
                found.add(part.key_id)
            elif isinstance(part, BaseModel):
                found |= key_ids(part)
    return frozenset(found)


def _sealed(model: Model, key: PersonKey, aead: AESGCM, path: str) -> Model:
    update: dict[str, Any] = {}
    marked = set(personal_fields(type(model)))
    for field in type(model).model_fields:
        value = getattr(model, field)
        where = f"{path}{field}"
        if field in marked and value is not None and not isinstance(value, Sealed):
            nonce = os.urandom(12)
            plaintext = json.dumps(value, default=str).encode()
            ciphertext = aead.encrypt(nonce, plaintext, _associated_data(key.case_id, where))
            update[field] = Sealed(
                key_id=key.key_id,
                nonce=base64.b64encode(nonce).decode(),
                ciphertext=base64.b64encode(ciphertext).decode(),
            )
        elif isinstance(value, BaseModel):
            update[field] = _sealed(value, key, aead, f"{where}.")
        elif isinstance(value, tuple) and any(isinstance(item, BaseModel) for item in value):
            update[field] = tuple(
                _sealed(item, key, aead, f"{where}.{index}.")
                if isinstance(item, BaseModel)
                else item
                for index, item in enumerate(value)
            )
    return model.model_copy(update=update)


Ring = dict[str, tuple[PersonKey, AESGCM]]


def _opened(model: BaseModel, ring: Ring, path: str) -> dict[str, Any]:
    opened: dict[str, Any] = {}
    marked = set(personal_fields(type(model)))
    for field in type(model).model_fields:
        value = getattr(model, field)
        where = f"{path}{field}"
        if field in marked and isinstance(value, Sealed):
            if value.key_id not in ring:
                raise KeyUnavailableError(f"{where} was sealed with key {value.key_id}")
            key, aead = ring[value.key_id]
            plaintext = aead.decrypt(
                base64.b64decode(value.nonce),
                base64.b64decode(value.ciphertext),
                _associated_data(key.case_id, where),
            )
            opened[field] = json.loads(plaintext)
        elif isinstance(value, BaseModel):
            opened[field] = _opened(value, ring, f"{where}.")
        elif isinstance(value, tuple):
            opened[field] = [
                _opened(item, ring, f"{where}.{index}.") if isinstance(item, BaseModel) else item
                for index, item in enumerate(value)
            ]
        else:
            opened[field] = value
    return opened
