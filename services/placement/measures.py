"""Deciding on measures.

Rules: PerjuF is the youth measure and needs the Jugendberufsagentur route (an under-25's
hand-over); PerF is the adults' one and is refused on that route (PerjuF takes its place).
An asylum seeker (Aufenthaltsgestattung) joins the Agentur's measures only with good
prospects of staying on the start date (§§ 131, 132 SGB III). One measure of a kind at a
time.
"""

from __future__ import annotations

from contracts.intake import ResidenceStatus
from contracts.placement import MeasureEnded, MeasureKind, MeasureStarted, PlacementEvent
from services.chassis.rules import InvalidTransitionError
from services.placement.commands import EndMeasure, StartMeasure
from services.placement.eligibility import good_prospects
from services.placement.state import PlacementCase, known, residence_facts


def start_measure(case: PlacementCase | None, command: StartMeasure) -> list[PlacementEvent]:
    facts = residence_facts(case)
    case = known(case)
    if command.measure_id in case.measures:
        raise InvalidTransitionError("measure.id_taken", f"measure {command.measure_id} exists")
    if command.kind is MeasureKind.PERJUF and not case.jugendberufsagentur:
        raise InvalidTransitionError(
            "measure.needs_jugendberufsagentur_route",
            "PerjuF is for under-25s on the Jugendberufsagentur route",
        )
    if command.kind is MeasureKind.PERF and case.jugendberufsagentur:
        raise InvalidTransitionError(
            "measure.perf_is_for_adults", "on the Jugendberufsagentur route PerjuF takes its place"
        )
    if facts.status is ResidenceStatus.AUFENTHALTSGESTATTUNG and not good_prospects(
        facts, command.started_on
    ):
        raise InvalidTransitionError(
            "measure.needs_bleibeperspektive",
            f"{facts.nationality} is not on the Bleibeperspektive list on {command.started_on}",
        )
    if any(m.started.kind is command.kind and m.ended_on is None for m in case.measures.values()):
        raise InvalidTransitionError(
            "measure.already_running", f"a {command.kind} measure is running"
        )
    return [
        MeasureStarted(
            measure_id=command.measure_id,
            kind=command.kind,
            provider=command.provider,
            started_on=command.started_on,
        )
    ]


def end_measure(case: PlacementCase | None, command: EndMeasure) -> list[PlacementEvent]:
    measure = known(case).measures.get(command.measure_id)
    if measure is None:
        raise InvalidTransitionError("measure.unknown", f"no measure {command.measure_id}")
    if measure.ended_on is not None:
        raise InvalidTransitionError("measure.already_ended", f"ended on {measure.ended_on}")
    if command.ended_on < measure.started.started_on:
        raise InvalidTransitionError(
            "measure.end_before_start", f"it started on {measure.started.started_on}"
        )
    return [
        MeasureEnded(
            measure_id=command.measure_id, ended_on=command.ended_on, outcome=command.outcome
        )
    ]
