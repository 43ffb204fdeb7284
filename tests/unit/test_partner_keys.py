"""The crypto-shredding of what partner feeds pass on: sealing with a key of the person and
the consent, opening with the key the partner fetched, and the partners' key tokens."""

from __future__ import annotations

from uuid import uuid4

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from contracts.partners import ForwardedEvent, partner_message
from services.projections.partner_keys import (
    FeedKey,
    new_token,
    open_data,
    seal_data,
    token_matches,
)

DATA = {"qualification_title": "Informatik", "given_name": "Amal"}


def _key(person: str = "a1b2c3") -> FeedKey:
    return FeedKey(f"fk-{uuid4().hex[:8]}", person, AESGCM.generate_key(bit_length=256))


def test_the_partner_opens_what_was_sealed_for_it_and_the_message_holds_no_plaintext() -> None:
    """Sealed into a message and read back from its JSON: only the key opens it."""
    key, notice = _key(), uuid4()
    message = ForwardedEvent.model_validate(
        {
            "notice_id": notice,
            "partner": "iq_counselling",
            "person": key.person,
            "consent_id": uuid4(),
            "purpose": "recognition",
            "category": "recognition",
            "event_type": "recognition.counselling_held",
            "occurred_at": "2016-03-20T10:00:00Z",
            "data": seal_data(DATA, key, notice),
        }
    )
    raw = message.model_dump_json()
    received = partner_message.validate_json(raw)

    assert isinstance(received, ForwardedEvent)
    assert received.data.key_id == key.key_id
    assert open_data(received.data, key, notice) == DATA
    assert "Informatik" not in raw
    assert "Amal" not in raw


def test_a_sealed_value_does_not_open_for_another_message_person_or_key() -> None:
    """The associated data binds it to its message and person; another key fails too."""
    key, notice = _key(), uuid4()
    sealed = seal_data(DATA, key, notice)

    with pytest.raises(InvalidTag):
        open_data(sealed, key, uuid4())
    with pytest.raises(InvalidTag):
        open_data(sealed, FeedKey(key.key_id, "another", key.secret), notice)
    with pytest.raises(InvalidTag):
        open_data(sealed, _key(), notice)


def test_a_partner_token_matches_its_digest_only() -> None:
    """The registry keeps a digest; the token matches it, another token or none does not."""
    token, digest = new_token()
    other, _ = new_token()

    assert token.encode() not in digest
    assert token_matches(token, digest)
    assert not token_matches(other, digest)
    assert not token_matches(token, None)
