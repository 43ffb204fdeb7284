"""Sealing of personal fields with the person's key."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest
from cryptography.exceptions import InvalidTag

from contracts.common import Site
from contracts.intake import PersonRegistered
from contracts.personal import Sealed
from services.chassis.crypto import KeyUnavailableError, PersonKey, seal, unseal
from services.chassis.ids import uuid7


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


def test_uuid7_is_version_7_and_time_ordered() -> None:
    """Minted ids are UUIDv7 and sort by creation time."""
    ids = [uuid7() for _ in range(50)]

    assert {i.version for i in ids} == {7}
    assert [i.int >> 80 for i in ids] == sorted(i.int >> 80 for i in ids)
