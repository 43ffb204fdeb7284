"""Which authority is competent (Zuständigkeit) for a qualification, and by which rule (pure).

The simplified rule set of the two Integration Points:

- a university degree whose Referenzberuf is not regulated (or that has none) goes to the
  ZAB, which issues a statement of comparability (Zeugnisbewertung), not a Bescheid;
- a university degree for a regulated profession goes to the Bezirksregierung Düsseldorf;
- a vocational qualification needs a Referenzberuf, and its Berufsbereich decides: IHK
  occupations go to IHK FOSA, crafts to the HWK Düsseldorf, occupations under Land law to
  the Bezirksregierung Düsseldorf.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.recognition import Berufsbereich, CompetentAuthority, QualificationKind
from services.chassis.rules import InvalidTransitionError
from services.recognition.procedure import ReferenceOccupation


@dataclass(frozen=True)
class Zustaendigkeit:
    """The competent authority, and the name of the rule that makes it so."""

    authority: CompetentAuthority
    rule: str


_BY_BEREICH = {
    Berufsbereich.INDUSTRIE_HANDEL: Zustaendigkeit(
        CompetentAuthority.IHK_FOSA, "authority.ihk_occupation_to_ihk_fosa"
    ),
    Berufsbereich.HANDWERK: Zustaendigkeit(
        CompetentAuthority.HWK_DUESSELDORF, "authority.craft_to_hwk"
    ),
    Berufsbereich.LANDESRECHT: Zustaendigkeit(
        CompetentAuthority.BEZIRKSREGIERUNG_DUESSELDORF, "authority.land_law_to_bezirksregierung"
    ),
}


def competent_for(kind: QualificationKind, reference: ReferenceOccupation | None) -> Zustaendigkeit:
    """The authority for this qualification; refuses when none can be named yet."""
    if kind is QualificationKind.HOCHSCHULABSCHLUSS:
        if reference is None or not reference.regulated:
            return Zustaendigkeit(CompetentAuthority.ZAB, "authority.unregulated_degree_to_zab")
        return Zustaendigkeit(
            CompetentAuthority.BEZIRKSREGIERUNG_DUESSELDORF,
            "authority.regulated_degree_to_bezirksregierung",
        )
    if reference is None:
        raise InvalidTransitionError(
            "authority.needs_reference_occupation",
            "a vocational qualification is assigned by its Referenzberuf: set one first",
        )
    if reference.bereich not in _BY_BEREICH:
        raise InvalidTransitionError(
            "reference_occupation.academic_needs_hochschulabschluss",
            f"{reference.title} is an academic occupation; this is a vocational qualification",
        )
    return _BY_BEREICH[reference.bereich]
