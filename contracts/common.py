"""Value types several topics share: places, codes and levels of the two Integration Points."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field

from contracts.envelope import Agency


class EventPayload(BaseModel):
    """Base of every event payload: immutable, and strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


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

# The Jobcenter responsible for SGB II clients living at a site's towns.
JOBCENTER_BY_SITE: Final[dict[Site, Agency]] = {
    Site.MG: Agency.JC_MG,
    Site.NE: Agency.JC_RKN,
    Site.GV: Agency.JC_RKN,
}

# Every site lies in the Agentur für Arbeit Mönchengladbach's district.
AA_DISTRICT_MG: Final = "AA-MG"


def site_of_town(town: str) -> Site | None:
    """The site that serves ``town``, if any."""
    return next((site for site, towns in TOWNS_BY_SITE.items() if town in towns), None)


class CefrLevel(StrEnum):
    """Common European Framework of Reference levels, ordered A1 < ... < C2."""

    A1 = "A1"
    A2 = "A2"
    B1 = "B1"
    B2 = "B2"
    C1 = "C1"
    C2 = "C2"

    @property
    def rank(self) -> int:
        return list(CefrLevel).index(self)

    def at_least(self, other: CefrLevel) -> bool:
        return self.rank >= other.rank


CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 3166-1 alpha-3")]
LanguageCode = Annotated[str, Field(pattern=r"^[a-z]{2,3}$", description="ISO 639 code")]
KldbCode = Annotated[
    str, Field(pattern=r"^[0-9]{5}$", description="occupation code of the KldB 2010, 5 digits")
]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
