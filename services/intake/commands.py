"""Commands intake accepts: frozen models, validated at the boundary."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.intake import TOWNS_BY_SITE, BirthDatePrecision, CountryCode, LanguageCode, Site

Name = Annotated[str, Field(min_length=1, max_length=120)]


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RegisterPerson(_Command):
    """Register a person allocated to a town (opens the case; its id is minted here)."""

    given_name: Name
    family_name: Name
    date_of_birth: date
    date_of_birth_precision: BirthDatePrecision = BirthDatePrecision.DAY
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


class RecordFirstContact(_Command):
    """Record the first contact with a registered person, and the interpreter's language."""

    contacted_on: date
    interpreter_language: LanguageCode | None = None


IntakeCommand = RegisterPerson | RecordFirstContact
