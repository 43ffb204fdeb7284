"""Sealing of personal fields with the person's key."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

import pytest
from cryptography.exceptions import InvalidTag

from contracts.common import Site
from contracts.intake import (
    ConsentGiven,
    ConsentMethod,
    DataCategory,
    Partner,
    PersonRegistered,
    Purpose,
    Recipient,
)
from contracts.personal import Sealed
from services.chassis.crypto import KeyUnavailableError, PersonKey, key_ids, seal, unseal
from services.chassis.ids import uuid7
from services.chassis.keyclient import opened


def person() -> PersonRegistered:
    return PersonRegistered(
        given_name="Amina",
        family_name="Haddad",
        date_of_birth=date(1989, 3, 14),
        nationality="SYR",
        site=Site.MG,
        town="Mönchengladbach",
        allocated_on=date(2016, 2, 1),
    )


def test_seal_then_unseal_gives_back_the_person() -> None:
    """What the key sealed, the key opens again, types included."""
    key = PersonKey.generate(uuid4(), "k1")

    sealed = seal(person(), key)

    assert isinstance(sealed.given_name, Sealed)
    assert "Amina" not in sealed.model_dump_json()
    assert "1989" not in sealed.model_dump_json()
    assert unseal(sealed, key) == person()


def test_another_persons_key_cannot_open() -> None:
    """A ciphertext is bound to its case: another key, even with the same id, fails."""
    case_id = uuid4()
    sealed = seal(person(), PersonKey.generate(case_id, "k1"))

    with pytest.raises(InvalidTag):
        unseal(sealed, PersonKey.generate(case_id, "k1"))
    with pytest.raises(KeyUnavailableError):
        unseal(sealed, PersonKey.generate(case_id, "k2"))


def test_after_a_rotation_each_value_opens_with_the_key_it_names() -> None:
    """Old events keep their key id, new ones carry the new one; a ring of both opens both,
    and the new key alone cannot open what the old one sealed."""
    case_id = uuid4()
    old, new = PersonKey.generate(case_id, "k1"), PersonKey.generate(case_id, "k2")
    before, after = seal(person(), old), seal(person(), new)

    assert key_ids(before) == {"k1"}
    assert key_ids(after) == {"k2"}
    assert unseal(before, old, new) == person()
    assert unseal(after, old, new) == person()
    with pytest.raises(KeyUnavailableError):
        unseal(before, new)


def test_key_ids_finds_sealed_values_in_nested_parts() -> None:
    """A named person inside a consent's recipients is sealed, and its key id is found."""
    consent = ConsentGiven(
        consent_id=uuid4(),
        purposes=(Purpose.RECOGNITION,),
        recipients=(Recipient(partner=Partner.IQ_COUNSELLING, named_person="Herr Brandt"),),
        data_categories=(DataCategory.IDENTITY,),
        notice_version="2016-01",
        notice_language="ar",
        method=ConsentMethod.WRITTEN,
        given_on=date(2016, 2, 9),
    )
    key = PersonKey.generate(uuid4(), "k7")

    sealed = seal(consent, key)

    assert "Brandt" not in sealed.model_dump_json()
    assert key_ids(sealed) == {"k7"}
    assert key_ids(consent) == frozenset()
    assert unseal(sealed, key) == consent


class _Ring:
    """Keys by id, as intake would hand them out; erasing empties the ring."""

    def __init__(self, *keys: PersonKey) -> None:
        self.keys = {key.key_id: key for key in keys}
        self.asked: list[str | None] = []

    async def find(self, case_id: UUID, key_id: str | None = None) -> PersonKey | None:
        self.asked.append(key_id)
        key = self.keys.get(key_id or "")
        return key if key is not None and key.case_id == case_id else None

    def forget(self, case_id: UUID) -> None:
        """Nothing cached."""


async def test_a_reader_opens_old_and_new_events_by_key_id_and_nothing_once_erased() -> None:
    """The reader's helper asks for the key each value names; with the keys gone, the
    payload stays sealed (and so is never stored by a view)."""
    case_id = uuid4()
    old, new = PersonKey.generate(case_id, "k1"), PersonKey.generate(case_id, "k2")
    ring = _Ring(old, new)

    assert await opened(seal(person(), old), case_id, ring) == person()
    assert await opened(seal(person(), new), case_id, ring) == person()
    assert ring.asked == ["k1", "k2"]
    ring.keys.clear()
    still_sealed = await opened(seal(person(), new), case_id, ring)
    assert isinstance(still_sealed.given_name, Sealed)


def test_uuid7_is_version_7_and_time_ordered() -> None:
    """Minted ids are UUIDv7 and sort by creation time."""
    ids = [uuid7() for _ in range(50)]

    assert {i.version for i in ids} == {7}
    assert [i.int >> 80 for i in ids] == sorted(i.int >> 80 for i in ids)
