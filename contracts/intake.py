"""Events of intake's case stream, topic ``ip.intake.case.v1`` (key: case id)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from contracts.codec import TopicCodec
from contracts.envelope import Envelope
from contracts.personal import PersonalDate, PersonalText

TOPIC: Final = "ip.intake.case.v1"


class Site(StrEnum):
    """The three Integration Point sites."""

    MG = "MG"  # Mönchengladbach
    NE = "NE"  # Neuss: Neuss, Kaarst, Korschenbroich, Dormagen, Meerbusch
    GV = "GV"  # Grevenbroich: Grevenbroich, Jüchen, Rommerskirchen


TOWNS_BY_SITE: Final[dict[Site, frozenset[str]]] = {
    Site.MG: frozenset({"Mönchengladbach"}),
    Site.NE: frozenset({"Neuss", "Kaarst", "Korschenbroich", "Dormagen", "Meerbusch"}),
    Site.GV: frozenset({"Grevenbroich", "Jüchen", "Rommerskirchen"}),
}

CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 3166-1 alpha-3")]
LanguageCode = Annotated[str, Field(pattern=r"^[a-z]{2,3}$", description="ISO 639 code")]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BirthDatePrecision(StrEnum):
    """How much of a date of birth is known; documents often give only the year."""

    DAY = "day"
    MONTH = "month"
    YEAR = "year"


class PersonRegistered(_Event):
    """A person was allocated to a town and registered at its Integration Point.

    v2 added ``date_of_birth_precision``; v1 events are read as precise to the day.
    """

    type: Literal["intake.person_registered"] = "intake.person_registered"
    schema_version: Literal[2] = 2
    given_name: PersonalText
    family_name: PersonalText
    date_of_birth: PersonalDate
    date_of_birth_precision: BirthDatePrecision = BirthDatePrecision.DAY
    nationality: CountryCode
    languages: tuple[LanguageCode, ...] = ()
    site: Site
    town: str
    allocated_on: date = Field(description="date of the allocation (Zuweisung) to the town")


class FirstContactMade(_Event):
    """The Integration Point reached the person for the first time (Early Intervention)."""

    type: Literal["intake.first_contact_made"] = "intake.first_contact_made"
    schema_version: Literal[1] = 1
    contacted_on: date
    interpreter_language: LanguageCode | None = Field(
        default=None, description="language of the interpreter (Sprachmittler), if one took part"
    )


IntakeEvent = Annotated[PersonRegistered | FirstContactMade, Field(discriminator="type")]
IntakeEnvelope = Envelope[IntakeEvent]


def _person_registered_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "date_of_birth_precision": BirthDatePrecision.DAY.value}


intake_codec: Final = TopicCodec(
    TypeAdapter(IntakeEnvelope),
    (PersonRegistered, FirstContactMade),
    {("intake.person_registered", 1): _person_registered_v1_to_v2},
)
