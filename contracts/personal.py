"""Marking and sealing of personal data in event payloads.

A field annotated with ``PERSONAL`` holds, on the wire and in every store, a ``Sealed``
value encrypted with the person's key; only a reader that obtained the key sees the
plaintext. Deleting the key makes every copy unreadable (erasure by crypto-shredding).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field


class PersonalDataMarker:
    """Metadata marker: the annotated field carries personal data and is sealed in events."""

    def __repr__(self) -> str:
        return "PERSONAL"


PERSONAL: Final = PersonalDataMarker()


class Sealed(BaseModel):
    """A personal value encrypted with AES-GCM under the person's key ``key_id``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key_id: str = Field(min_length=1, max_length=64)
    nonce: str = Field(description="base64 of the 12-byte AES-GCM nonce")
    ciphertext: str = Field(description="base64 of the ciphertext with its tag")


PersonalText = Annotated[str | Sealed, PERSONAL]
PersonalDate = Annotated[date | Sealed, PERSONAL]
# "PersonalText | None" would hide the marker inside the union: optional fields use these.
OptionalPersonalText = Annotated[str | Sealed | None, PERSONAL]


def personal_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """The names of the fields of ``model`` that are marked personal."""
    return tuple(
        name
        for name, info in model.model_fields.items()
        if any(isinstance(meta, PersonalDataMarker) for meta in info.metadata)
    )
