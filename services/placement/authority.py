"""Who may issue which placement command (pure): the table ``docs/authorization.md`` renders.

The Ausländerbehörde decides on work permission (with the BA's consent, which the Agentur
gives: § 39 AufenthG); the responsible agency works the measures and placements.
"""

from __future__ import annotations

from typing import Final

from services.chassis.authorization import (
    AGENTUR,
    RESIDENCE_AUTHORITY_OF_THE_CASE,
    RESPONSIBLE,
    Acting,
    Grant,
    KnownCase,
    Role,
    Rule,
    permit_on_known_case,
)
from services.placement.commands import (
    DecideBaConsent,
    DecidePermission,
    EndMeasure,
    EndPlacement,
    MakeProposal,
    PlacementCommand,
    ReceiveOpening,
    RecordFollowUp,
    RequestWorkPermission,
    StartMeasure,
    StartPlacement,
)

_PERMISSION: Final = Rule(
    "placement.permission_by_the_abh",
    (Grant.to(RESIDENCE_AUTHORITY_OF_THE_CASE, Role.ABH_CASE_WORKER),),
)
_PLACEMENT: Final = Rule(
    "placement.responsible_agency_places", (Grant.to(RESPONSIBLE, Role.CASE_WORKER),)
)

WHO_MAY_ISSUE: Final[dict[type, Rule]] = {
    RequestWorkPermission: _PERMISSION,
    DecidePermission: _PERMISSION,
    DecideBaConsent: Rule(
        "placement.ba_consent_by_the_agentur", (Grant.to(AGENTUR, Role.CASE_WORKER),)
    ),
    StartMeasure: _PLACEMENT,
    EndMeasure: _PLACEMENT,
    ReceiveOpening: _PLACEMENT,
    MakeProposal: _PLACEMENT,
    StartPlacement: _PLACEMENT,
    EndPlacement: _PLACEMENT,
    RecordFollowUp: _PLACEMENT,
}


def permit(case: KnownCase | None, command: PlacementCommand, acting: Acting) -> None:
    """404 for an unknown case, 403 naming the rule for what ``acting`` may not issue."""
    permit_on_known_case(WHO_MAY_ISSUE, acting, command, case)
