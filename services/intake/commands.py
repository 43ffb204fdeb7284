"""Commands intake accepts: frozen models, validated at the boundary."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.intake import TOWNS_BY_SITE, CountryCode, LanguageCode, Site

Name = Annotated[str, Field(min_length=1, max_length=120)]


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PersonDetails(_Command):
    """Who was allocated, where and when."""

    given_name: Name
    family_name: Name
    date_of_birth: date
    nationality: CountryCode
    languages: tuple[LanguageCode, ...] = Field(default=(), max_length=10)
    site: Site
    town: str = Field(min_length=1, max_length=80)
    allocated_on: date

    @model_validator(mode="after")
    def _town_belongs_to_site(self) -> Self:
        if self.town not in TOWNS_BY_SITE[self.site]:
            towns = ", ".join(sorted(TOWNS_BY_SITE[self.site]))
            raise ValueError(f"town {self.town!r} is not served by site {self.site}: {towns}")
        if self.allocated_on < self.date_of_birth:
            raise ValueError("allocated_on lies before date_of_birth")
        return self


class RegisterPerson(PersonDetails):
    """Open a case for a person allocated to a town."""

    case_id: UUID


class FirstContactDetails(_Command):
    """When the Integration Point first reached the person, and in which language."""

    contacted_on: date
    interpreter_language: LanguageCode | None = None


class RecordFirstContact(FirstContactDetails):
    """Record the first contact with a registered person."""

    case_id: UUID


IntakeCommand = RegisterPerson | RecordFirstContact
