"""The web's pure parts: the caseload summary and its filters, the forms' bodies and the
placing of a service's refusal, the timeline's labels, the steering charts."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

from contracts.common import Site
from contracts.envelope import Agency
from services.projections.purpose import ViewId
from services.projections.steering import Rechtskreis
from services.web import charts, timeline
from services.web.caseload import CaseloadFilter, Status, caseload, summarise
from services.web.forms import FIRST_CONTACT, MEASURE, REGISTER, command_body, refusal
from services.web.session import view_of

TODAY = date(2016, 3, 1)


def registered(
    allocated_on: str, site: str = "MG", town: str = "Mönchengladbach"
) -> dict[str, Any]:
    return {
        "type": "intake.person_registered",
        "data": {
            "given_name": "Amina",
            "family_name": "Haddad",
            "site": site,
            "town": town,
            "allocated_on": allocated_on,
        },
    }


def first_contact(on: str) -> dict[str, Any]:
    return {"type": "intake.first_contact_made", "data": {"contacted_on": on}}


def accepted(from_agency: str, to_agency: str) -> dict[str, Any]:
    return {
        "type": "intake.hand_over_accepted",
        "data": {"from_agency": from_agency, "to_agency": to_agency, "new_site": None},
    }


def test_first_contact_is_overdue_after_fourteen_days_without_one() -> None:
    """Allocated 15 days ago and not contacted: overdue; 14 days ago: still within target."""
    late = summarise(uuid4(), [registered("2016-02-15")], "AA-MG", TODAY)
    in_time = summarise(uuid4(), [registered("2016-02-16")], "AA-MG", TODAY)

    assert late.first_contact_overdue
    assert late.status is Status.FIRST_CONTACT_OPEN
    assert not in_time.first_contact_overdue


def test_a_contacted_case_is_in_care_and_never_overdue() -> None:
    """A first contact, however late, ends the overdue flag."""
    case = summarise(
        uuid4(), [registered("2016-01-01"), first_contact("2016-02-20")], "AA-MG", TODAY
    )

    assert case.status is Status.IN_CARE
    assert case.first_contact_on == date(2016, 2, 20)
    assert not case.first_contact_overdue
    assert case.name == "Haddad, Amina"


def test_an_accepted_rechtskreiswechsel_moves_the_case_to_sgb_ii() -> None:
    """For the Jobcenter the case is SGB II and in care; for the Agentur it is handed over."""
    events = [registered("2016-01-01"), first_contact("2016-01-05"), accepted("AA-MG", "JC-MG")]

    jobcenter = summarise(uuid4(), events, "JC-MG", TODAY)
    agentur = summarise(uuid4(), events, "AA-MG", TODAY)

    assert jobcenter.rechtskreis is Rechtskreis.SGB_II
    assert jobcenter.responsible is Agency.JC_MG
    assert jobcenter.status is Status.IN_CARE
    assert agentur.status is Status.HANDED_OVER


def test_a_view_without_the_registration_shows_unknowns() -> None:
    """A view cut to other categories still lists the case, with what it cannot see unknown."""
    case = summarise(uuid4(), [first_contact("2016-02-20")], "STADT-MG", TODAY)

    assert case.site is None
    assert case.allocated_on is None
    assert case.name == "(Name nicht sichtbar)"
    assert not case.first_contact_overdue


def test_filters_combine_and_overdue_cases_come_first() -> None:
    """Site, Rechtskreis, status and the overdue flag all narrow the list."""
    mg_late = summarise(uuid4(), [registered("2016-01-10")], "AA-MG", TODAY)
    mg_fresh = summarise(uuid4(), [registered("2016-02-25")], "AA-MG", TODAY)
    ne = summarise(uuid4(), [registered("2016-01-01", "NE", "Neuss")], "AA-MG", TODAY)
    cases = [mg_fresh, ne, mg_late]

    assert caseload(cases, CaseloadFilter()) == [ne, mg_late, mg_fresh]
    assert caseload(cases, CaseloadFilter(site=Site.MG)) == [mg_late, mg_fresh]
    assert caseload(cases, CaseloadFilter(site=Site.MG, overdue_only=True)) == [mg_late]
    assert caseload(cases, CaseloadFilter(rechtskreis=Rechtskreis.SGB_II)) == []
    assert caseload(cases, CaseloadFilter(status=Status.IN_CARE)) == []


def test_filters_read_the_query_string_and_ignore_unknown_values() -> None:
    """The list page's German query parameters; a value that is no option filters nothing."""
    chosen = CaseloadFilter.from_query(
        {"standort": "GV", "rechtskreis": "SGB II", "status": "gibt es nicht", "ueberfaellig": "1"}
    )

    assert chosen == CaseloadFilter(Site.GV, Rechtskreis.SGB_II, None, overdue_only=True)


def test_a_form_becomes_the_command_body() -> None:
    """Lists are split, empty optional fields left out, required ones sent even when empty
    (so the service names them), and minted ids are fresh UUIDs."""
    body = command_body(
        REGISTER, {"given_name": " Amina ", "family_name": "", "languages": "ar, ku,", "site": "MG"}
    )
    assert body["given_name"] == "Amina"
    assert body["family_name"] == ""
    assert body["languages"] == ["ar", "ku"]

    assert command_body(
        FIRST_CONTACT, {"contacted_on": "2016-02-09", "interpreter_language": ""}
    ) == {"contacted_on": "2016-02-09"}
    measure = command_body(MEASURE, {"kind": "perf", "provider": "x", "started_on": "2016-03-01"})
    assert UUID(measure["measure_id"])


def test_a_422_is_placed_next_to_its_fields() -> None:
    """Each problem goes to its field (nested ones to their parent), in German where known;
    a problem of the whole command goes above the form."""
    answer = {
        "detail": [
            {"field": "nationality", "reason": "String should match pattern '^[A-Z]{3}$'"},
            {"field": "languages.1", "reason": "String should match pattern '^[a-z]{2,3}$'"},
            {"field": "family_name", "reason": "Field required"},
            {"field": "", "reason": "Value error, town 'Neuss' is not served by site MG: x"},
        ]
    }

    outcome = refusal(REGISTER, 422, answer)

    assert outcome.field_errors == {
        "nationality": ["Drei Großbuchstaben (ISO-Code), z. B. SYR"],
        "languages": ["Zwei oder drei Kleinbuchstaben, z. B. ar"],
        "family_name": ["Pflichtfeld"],
    }
    assert outcome.form_errors == ["town 'Neuss' is not served by site MG: x"]


def test_the_input_checks_read_in_german_next_to_their_fields() -> None:
    """Unknown ISO codes, invisible names and future dates are shown in German."""
    answer = {
        "detail": [
            {
                "field": "nationality",
                "reason": "Value error, 'ZZZ' is no ISO 3166-1 alpha-3 country code",
            },
            {"field": "languages.0", "reason": "Value error, 'qq' is no ISO 639 language code"},
            {
                "field": "family_name",
                "reason": "Value error, must not be empty or consist only of spaces or invisible"
                " characters",
            },
            {
                "field": "allocated_on",
                "reason": "the date lies in the future (today is 2016-03-01 in Germany)",
            },
        ]
    }

    outcome = refusal(REGISTER, 422, answer)

    assert outcome.field_errors == {
        "nationality": ["Kein ISO-3166-Ländercode (drei Buchstaben, z. B. SYR)"],
        "languages": ["Kein ISO-639-Sprachcode (z. B. ar, ti, prs)"],
        "family_name": [
            "Darf nicht leer sein oder nur aus Leer- oder unsichtbaren Zeichen bestehen"
        ],
        "allocated_on": ["Das Datum liegt in der Zukunft"],
    }


def test_a_409_names_the_rule_above_the_form() -> None:
    """A rule violation is one message for the form, with the rule's name."""
    outcome = refusal(
        FIRST_CONTACT,
        409,
        {"rule": "first_contact.only_once", "detail": "first contact was on 2016-02-09"},
    )

    assert outcome.field_errors == {}
    assert outcome.form_errors == [
        "Nicht möglich: first contact was on 2016-02-09 (Regel first_contact.only_once)"
    ]


def test_the_timeline_is_newest_first_in_german() -> None:
    """Known events get German labels; unknown ones keep their technical name."""
    events = [
        {**registered("2016-02-01"), "occurred_at": "2016-02-01T10:00:00+00:00"},
        {
            "type": "future.thing_happened",
            "occurred_at": "2016-02-03T10:00:00+00:00",
            "data": {"type": "x", "n": [1, 2], "ok": True},
        },
    ]

    lines = timeline.entries(events)

    assert [line.label for line in lines] == [
        "future.thing_happened",
        "Person registriert (Zuweisung)",
    ]
    assert lines[0].details == (("n", "1, 2"), ("ok", "ja"))


def test_the_timeline_says_who_recorded_each_event() -> None:
    """A person's event names the agency and the reference, a reaction's "automatisch"."""
    at = "2016-02-01T10:00:00+00:00"
    events = [
        {**registered("2016-02-01"), "occurred_at": at, "recorded_by": "AA-MG",
         "actor_role": "case_worker", "actor_reference": "9c1f0e7a52b84d3e6a0f1c2d3e4b5a69"},
        {"type": "placement.residence_facts_noted", "occurred_at": at, "data": {},
         "recorded_by": "AA-MG", "actor_role": None, "actor_reference": None},
    ]  # fmt: skip

    lines = timeline.entries(events)

    assert [line.recorded_by for line in lines] == ["AA-MG, automatisch", "AA-MG, 9c1f0e7a52b8"]


def test_suppressed_cells_get_no_bar_and_no_number() -> None:
    """A suppressed cell is marked, never drawn to scale, and never said to be under five (it
    may protect another); the tallest bar fills; totals have a scale of their own."""
    rows: list[dict[str, Any]] = [
        {"figure": "caseload", "version": "caseload@1", "site": "MG", "rechtskreis": "SGB III",
         "age_band": "25 und älter", "value": 12.0, "persons": 12, "suppressed": False},
        {"figure": "caseload", "version": "caseload@1", "site": "MG", "rechtskreis": "SGB II",
         "age_band": "unter 25", "value": None, "persons": None, "suppressed": True},
        {"figure": "caseload", "version": "caseload@1", "site": "NE", "rechtskreis": "SGB III",
         "age_band": "unter 25", "value": 6.0, "persons": 6, "suppressed": False},
    ]  # fmt: skip

    totals: list[dict[str, Any]] = [
        {"figure": "caseload", "version": "caseload@1", "area": "IP-MG", "rechtskreis": None,
         "age_band": None, "label": "IP Mönchengladbach gesamt", "value": 40.0, "persons": 40,
         "suppressed": False},
        {"figure": "caseload", "version": "caseload@1", "area": "IP-RKN",
         "rechtskreis": "SGB II", "age_band": None, "label": "Jobcenter Rhein-Kreis Neuss",
         "value": None, "persons": None, "suppressed": True},
    ]  # fmt: skip

    (chart,) = charts.charts(rows, totals)

    assert [bar.height for bar in chart.bars] == [charts.PLOT_HEIGHT, 0, charts.PLOT_HEIGHT // 2]
    assert [bar.shown_value for bar in chart.bars] == ["12", charts.WITHHELD, "6"]
    assert [(bar.top, bar.bottom, bar.height) for bar in chart.totals] == [
        ("IP MG", "gesamt", charts.PLOT_HEIGHT),
        ("JC RKN", "gesamt", 0),
    ]
    assert chart.totals[1].label == "Jobcenter Rhein-Kreis Neuss"
    assert not chart.all_suppressed


def test_a_token_opens_the_view_of_its_agency_and_role() -> None:
    """The Stadt's token opens the ABH or the Sozialamt view by role; steering opens none."""
    assert view_of("STADT-MG", "abh_case_worker") is ViewId.ABH_MG
    assert view_of("STADT-MG", "sozialamt_case_worker") is ViewId.SOZIALAMT_MG
    assert view_of("JC-RKN", "case_worker") is ViewId.JC_RKN
    assert view_of("AA-MG", "steering") is None
