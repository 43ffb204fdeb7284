"""The pure placement decider beyond the permission itself: what intake told placement,
measures, the employer service's openings and proposals, placements and follow-ups."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from contracts.common import Site
from contracts.placement import (
    JugendberufsagenturRouteNoted,
    MeasureKind,
    MeasureOutcome,
    PlacementEndReason,
    ResidenceFactsNoted,
)
from services.placement.commands import (
    EndMeasure,
    EndPlacement,
    MakeProposal,
    NoteJugendberufsagenturRoute,
    NoteResidenceFacts,
    ReceiveOpening,
    RecordFollowUp,
    StartMeasure,
)
from tests.unit.placement_builders import (
    INTAKE_EVENT,
    PLACEMENT,
    Story,
    ba_consent,
    document,
    facts,
    grant,
    helper_job,
    permitted_helper,
    request,
)

OTHER_EVENT = UUID("0192f1a0-7c3f-7000-8000-000000000006")
MEASURE = UUID("0192f2b0-1d00-7c11-8a3b-5e2f4a6b8f01")
OPENING = UUID("0192f2b0-1d00-7c11-8a3b-5e2f4a6b9001")
HANDOVER = UUID("0192f2b0-1d00-7c11-8a3b-5e2f4a6b8d01")


def measure(kind: MeasureKind = MeasureKind.PERF, on: date = date(2016, 7, 4)) -> StartMeasure:
    return StartMeasure(measure_id=MEASURE, kind=kind, provider="Bildungswerk RKN", started_on=on)


def jba_route() -> NoteJugendberufsagenturRoute:
    return NoteJugendberufsagenturRoute(
        source_event_id=OTHER_EVENT, handover_id=HANDOVER, noted_on=date(2016, 5, 2)
    )


def opening(**overrides: Any) -> ReceiveOpening:
    fields: dict[str, Any] = {
        "opening_id": OPENING,
        "employer": "Elektro Schmitz GmbH, Grevenbroich",
        "kldb": "26301",
        "kind": "beschaeftigung",
        "skill_level": "helfer",
        "received_on": date(2016, 8, 29),
    }
    return ReceiveOpening.model_validate(fields | overrides)


def proposal(on: date = date(2016, 8, 30)) -> MakeProposal:
    return MakeProposal(
        proposal_id=UUID("0192f2b0-1d00-7c11-8a3b-5e2f4a6b9101"), opening_id=OPENING, proposed_on=on
    )


# --- what intake told placement -------------------------------------------------------------


def test_residence_document_before_anything_else_opens_the_case() -> None:
    """A residence status arriving first is noted; placement need not have seen the person."""
    [noted] = Story().then(NoteResidenceFacts(source_event_id=INTAKE_EVENT, document=document()))

    assert isinstance(noted, ResidenceFactsNoted)
    assert (noted.status, noted.nationality) == ("aufenthaltsgestattung", None)


def test_facts_merge_what_placement_knew_with_what_arrived() -> None:
    """Each intake event adds its part; the snapshot keeps the rest."""
    story = Story(NoteResidenceFacts(source_event_id=INTAKE_EVENT, nationality="IRQ", site=Site.GV))

    [noted] = story.then(NoteResidenceFacts(source_event_id=OTHER_EVENT, document=document()))
    [after_move] = story.then(NoteResidenceFacts(source_event_id=INTAKE_EVENT, site=Site.NE))

    assert isinstance(noted, ResidenceFactsNoted)
    assert (noted.nationality, noted.site, noted.status) == (
        "IRQ",
        Site.GV,
        "aufenthaltsgestattung",
    )
    assert noted.source_event_id == OTHER_EVENT
    assert isinstance(after_move, ResidenceFactsNoted)
    assert (after_move.site, after_move.stay_since) == (Site.NE, date(2016, 4, 4))


def test_a_new_document_replaces_the_old_one_whole() -> None:
    """A later document without an end date is unlimited, not the old end date."""
    story = Story(facts(valid_until=date(2016, 10, 3)))

    [renewed] = story.then(
        NoteResidenceFacts(source_event_id=OTHER_EVENT, document=document(valid_until=None))
    )

    assert isinstance(renewed, ResidenceFactsNoted)
    assert renewed.valid_until is None
    assert renewed.nationality == "IRQ"


def test_facts_placement_knew_already_add_no_event() -> None:
    """The same facts again (another event saying the same) change nothing."""
    story = Story(facts())

    assert story.then(facts()) == []
    assert story.then(NoteResidenceFacts(source_event_id=OTHER_EVENT, site=Site.GV)) == []


def test_jugendberufsagentur_route_is_noted_once() -> None:
    """A second hand-over to the Jugendberufsagentur adds nothing; it may come before facts."""
    story = Story()

    [route] = story.then(jba_route())

    assert isinstance(route, JugendberufsagenturRouteNoted)
    assert story.then(jba_route()) == []


# --- measures -------------------------------------------------------------------------------


def test_perf_is_for_adults_and_refused_on_the_jugendberufsagentur_route() -> None:
    """An adult starts PerF; on the Jugendberufsagentur route PerF is refused for PerjuF."""
    assert Story(facts()).then(measure(MeasureKind.PERF))
    young = Story(facts(), jba_route())

    assert young.refused(measure(MeasureKind.PERF)) == "measure.perf_is_for_adults"
    assert young.then(measure(MeasureKind.PERJUF))


def test_perjuf_needs_the_jugendberufsagentur_route() -> None:
    """PerjuF, the youth measure, needs an under-25's hand-over to the Jugendberufsagentur."""
    assert Story(facts()).refused(measure(MeasureKind.PERJUF)) == (
        "measure.needs_jugendberufsagentur_route"
    )


def test_asylum_seeker_without_good_prospects_joins_no_measure() -> None:
    """An Afghan asylum seeker (not on the 2016 list) is refused a measure."""
    story = Story(facts(nationality="AFG"))

    assert story.refused(measure(MeasureKind.KOMPAS)) == "measure.needs_bleibeperspektive"


def test_somali_asylum_seeker_joins_measures_from_1_august_2016() -> None:
    """Somalia's listing opens measures on 2016-08-01, not on 2016-07-31."""
    story = Story(facts(nationality="SOM"))

    assert story.refused(measure(on=date(2016, 7, 31))) == "measure.needs_bleibeperspektive"
    assert story.then(measure(on=date(2016, 8, 1)))


def test_tolerated_person_is_not_held_to_the_bleibeperspektive() -> None:
    """The list decides for asylum seekers only; a tolerated Afghan may join a measure."""
    assert Story(facts(nationality="AFG", status="duldung")).then(measure(MeasureKind.MAG))


def test_measure_ids_are_unique_and_one_of_a_kind_runs_at_a_time() -> None:
    """The same id twice is refused; so is a second running PerF under a new id."""
    story = Story(facts(), measure())
    second = measure().model_copy(update={"measure_id": UUID(int=7)})

    assert story.refused(measure()) == "measure.id_taken"
    assert story.refused(second) == "measure.already_running"


def test_measure_ends_once_and_not_before_it_started() -> None:
    """An end needs a running measure and a date on or after its start."""
    story = Story(facts(), measure(on=date(2016, 7, 4)))
    end = EndMeasure(
        measure_id=MEASURE, ended_on=date(2016, 7, 3), outcome=MeasureOutcome.COMPLETED
    )

    assert story.refused(end) == "measure.end_before_start"
    assert story.then(end.model_copy(update={"ended_on": date(2016, 7, 4)}))
    assert story.refused(end) == "measure.already_ended"
    assert Story(facts()).refused(end) == "measure.unknown"


# --- openings and proposals -----------------------------------------------------------------


def test_opening_ids_are_unique() -> None:
    """The same opening is received once."""
    assert Story(facts(), opening()).refused(opening()) == "opening.id_taken"


def test_proposal_needs_a_received_opening_and_not_before_it_arrived() -> None:
    """A proposal names an opening of the case, made on or after the day it came in."""
    assert Story(facts()).refused(proposal()) == "proposal.needs_opening"
    story = Story(facts(), opening(received_on=date(2016, 8, 29)))

    assert story.refused(proposal(on=date(2016, 8, 28))) == "proposal.before_opening"
    assert story.then(proposal(on=date(2016, 8, 29)))
    assert story.refused(proposal()) == "proposal.id_taken"


# --- placements and follow-ups --------------------------------------------------------------


def test_placement_without_a_permission_is_refused_for_an_asylum_seeker() -> None:
    """A Gestattung holder's job needs a granted Beschäftigungserlaubnis."""
    story = Story(facts(), request())

    assert story.refused(helper_job(work_permission_request_id=None)) == (
        "placement.needs_work_permission"
    )
    assert story.refused(helper_job()) == "placement.needs_work_permission"  # not decided yet


def test_placement_for_another_job_than_permitted_is_refused() -> None:
    """A permission for a helper job does not cover a skilled one."""
    skilled = helper_job(skill_level="fachkraft")

    assert permitted_helper().refused(skilled) == "placement.permission_for_other_job"


def test_placement_must_start_within_the_permission() -> None:
    """Starting the day after the permission's last day is refused; on that day is fine."""
    story = Story(facts(valid_until=None), request(), ba_consent())
    story.then(grant(valid_until=date(2016, 9, 30)))

    assert story.refused(helper_job(started_on=date(2016, 10, 1))) == (
        "placement.permission_not_covering_start"
    )
    assert story.then(helper_job(started_on=date(2016, 9, 30)))


def test_placement_after_the_document_expired_is_refused() -> None:
    """The residence document must be valid on the start date, permission or not."""
    story = permitted_helper()  # document and permission valid until 2016-10-03

    assert story.refused(helper_job(started_on=date(2016, 10, 4))) == (
        "eligibility.document_expired"
    )


def test_placement_before_the_permission_was_decided_is_refused() -> None:
    """A start on the day before the grant is not covered by it."""
    story = permitted_helper()  # granted on 2016-09-14

    assert story.refused(helper_job(started_on=date(2016, 9, 13))) == (
        "placement.permission_not_covering_start"
    )


def test_protection_holder_starts_without_a_permission() -> None:
    """A § 25 (2) holder may work by law: no permission request is named."""
    story = Story(facts(status="aufenthaltserlaubnis_25_2_subsidiaer"))

    assert story.then(helper_job(work_permission_request_id=None))


def test_placement_needs_the_proposal_it_names() -> None:
    """A named proposal must exist on the case."""
    story = permitted_helper()

    assert story.refused(helper_job(proposal_id=UUID(int=9))) == "placement.needs_proposal"


def test_assistierte_ausbildung_needs_good_prospects_for_an_asylum_seeker() -> None:
    """An Afghan asylum seeker's apprenticeship is refused Assistierte Ausbildung."""
    story = Story(facts(nationality="AFG"), request(job_type="berufsausbildung"), grant())
    apprenticeship = helper_job(
        kind="ausbildung", skill_level=None, with_assistierte_ausbildung=True
    )

    assert story.refused(apprenticeship) == (
        "placement.assistierte_ausbildung_needs_bleibeperspektive"
    )
    assert story.then(apprenticeship.model_copy(update={"with_assistierte_ausbildung": False}))


def test_placement_ids_are_unique() -> None:
    """The same placement starts once."""
    story = permitted_helper()
    story.then(helper_job())

    assert story.refused(helper_job()) == "placement.id_taken"


def test_placement_ends_once_and_not_before_it_started() -> None:
    """An end needs a running placement and a date on or after its start."""
    story = permitted_helper()
    story.then(helper_job(started_on=date(2016, 9, 19)))
    end = EndPlacement(
        placement_id=PLACEMENT, ended_on=date(2016, 9, 18), reason=PlacementEndReason.DISMISSED
    )

    assert story.refused(end) == "placement.end_before_start"
    assert story.then(end.model_copy(update={"ended_on": date(2016, 9, 30)}))
    assert story.refused(end) == "placement.already_ended"
    assert Story(facts()).refused(end) == "placement.unknown"


def test_follow_up_after_the_start_and_still_in_post_only_until_the_end() -> None:
    """Follow-ups come after the start; after the end the person is no longer in post."""
    story = permitted_helper()
    story.then(helper_job(started_on=date(2016, 9, 19)))
    story.then(
        EndPlacement(
            placement_id=PLACEMENT, ended_on=date(2017, 3, 31), reason=PlacementEndReason.RESIGNED
        )
    )

    def follow_up(on: date, still_in_post: bool) -> RecordFollowUp:
        return RecordFollowUp(placement_id=PLACEMENT, contacted_on=on, still_in_post=still_in_post)

    assert story.refused(follow_up(date(2016, 9, 18), True)) == "follow_up.before_start"
    assert story.then(follow_up(date(2017, 3, 31), True))
    assert story.refused(follow_up(date(2017, 4, 1), True)) == "follow_up.still_in_post_after_end"
    assert story.then(follow_up(date(2017, 4, 1), False))
