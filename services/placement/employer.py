"""Deciding on the employer service's openings and the proposals made for them."""

from __future__ import annotations

from contracts.placement import OpeningReceived, PlacementEvent, ProposalMade
from services.chassis.rules import InvalidTransitionError
from services.placement.commands import MakeProposal, ReceiveOpening
from services.placement.state import PlacementCase, known


def receive_opening(case: PlacementCase | None, command: ReceiveOpening) -> list[PlacementEvent]:
    if command.opening_id in known(case).openings:
        raise InvalidTransitionError("opening.id_taken", f"opening {command.opening_id} exists")
    return [OpeningReceived(**command.model_dump())]


def make_proposal(case: PlacementCase | None, command: MakeProposal) -> list[PlacementEvent]:
    case = known(case)
    if command.proposal_id in case.proposals:
        raise InvalidTransitionError("proposal.id_taken", f"proposal {command.proposal_id} exists")
    opening = case.openings.get(command.opening_id)
    if opening is None:
        raise InvalidTransitionError("proposal.needs_opening", f"no opening {command.opening_id}")
    if command.proposed_on < opening.received_on:
        raise InvalidTransitionError(
            "proposal.before_opening", f"the opening arrived on {opening.received_on}"
        )
    return [ProposalMade(**command.model_dump())]
