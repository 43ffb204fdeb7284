"""A case's timeline in German: what each event is called and which of its fields to show.

Pure. Events of a type not named here still show, under their technical name: a view may
hold events this page was not taught yet, and a case worker must see all it holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

LABELS: Final = {
    "intake.person_registered": "Person registriert (Zuweisung)",
    "intake.identifier_linked": "Kennzeichen verknüpft",
    "intake.first_contact_made": "Erstkontakt",
    "intake.contact_recorded": "Kontakt",
    "intake.residence_status_recorded": "Aufenthaltsstatus erfasst",
    "intake.asylum_decided": "Asylentscheidung",
    "intake.wohnsitzauflage_imposed": "Wohnsitzauflage",
    "intake.sgb2_application_recorded": "Antrag auf SGB II",
    "intake.consent_given": "Einwilligung erteilt",
    "intake.consent_withdrawn": "Einwilligung widerrufen",
    "intake.consent_expired": "Einwilligung abgelaufen",
    "intake.profile_recorded": "Profil erfasst",
    "intake.interpreter_requested": "Sprachmittlung angefragt",
    "intake.interpreter_assigned": "Sprachmittlung zugesagt",
    "intake.interpreter_session_held": "Sprachmittlung durchgeführt",
    "intake.interpreter_no_show": "Sprachmittlung ausgefallen",
    "intake.referred_to_partner": "An Partner verwiesen",
    "intake.hand_over_requested": "Übergabe angefragt",
    "intake.hand_over_accepted": "Übergabe angenommen",
    "intake.hand_over_rejected": "Übergabe abgelehnt",
    "intake.case_closed": "Fall abgeschlossen",
    "intake.person_erased": "Personendaten gelöscht (Art. 17 DSGVO)",
    "intake.category_erased": "Datenkategorie gelöscht (Aufbewahrungsfrist abgelaufen)",
    "language.entitlement_issued": "Kursberechtigung/-verpflichtung",
    "language.placement_test_taken": "Einstufungstest",
    "language.enrolment_started": "Kursbeginn",
    "language.attendance_recorded": "Kursteilnahme",
    "language.exam_taken": "Sprachprüfung",
    "language.enrolment_ended": "Kursende",
    "language.issuer_changed": "Kostenträger gewechselt",
    "recognition.counselling_held": "Anerkennungsberatung",
    "recognition.reference_occupation_set": "Referenzberuf festgelegt",
    "recognition.competent_authority_assigned": "Zuständige Stelle",
    "recognition.application_submitted": "Anerkennungsantrag gestellt",
    "recognition.documents_requested": "Unterlagen nachgefordert",
    "recognition.decision_issued": "Anerkennungsbescheid",
    "recognition.zab_statement_issued": "ZAB-Zeugnisbewertung",
    "recognition.protected_title_permitted": "Berufsbezeichnung erlaubt",
    "recognition.adaptation_started": "Anpassungsqualifizierung begonnen",
    "recognition.adaptation_completed": "Anpassungsqualifizierung abgeschlossen",
    "recognition.competence_assessed": "Kompetenzfeststellung",
    "placement.residence_facts_noted": "Aufenthaltsdaten übernommen",
    "placement.jugendberufsagentur_route_noted": "Weg über die Jugendberufsagentur",
    "placement.work_permission_requested": "Beschäftigungserlaubnis beantragt",
    "placement.ba_consent_decided": "Zustimmung der BA",
    "placement.permission_decided": "Beschäftigungserlaubnis entschieden",
    "placement.measure_started": "Maßnahme begonnen",
    "placement.measure_ended": "Maßnahme beendet",
    "placement.opening_received": "Stellenangebot",
    "placement.proposal_made": "Vermittlungsvorschlag",
    "placement.placement_started": "Arbeits-/Ausbildungsbeginn",
    "placement.placement_ended": "Beschäftigung beendet",
    "placement.follow_up_contact_recorded": "Nachbetreuung",
}

# Bookkeeping of the contracts, not something a case worker reads.
_HIDDEN: Final = frozenset({"type", "schema_version"})


@dataclass(frozen=True)
class Entry:
    """One line of the timeline."""

    at: datetime
    label: str
    service: str
    details: tuple[tuple[str, str], ...]
    read_only: bool
    recorded_by: str | None = None  # "erfasst von <agency>, <reference>"


def _recorded_by(event: Mapping[str, Any]) -> str | None:
    """Who recorded the event: the agency and the person's pseudonymous reference (an
    automatic follow-up of another event has no person: "automatisch")."""
    agency = event.get("recorded_by")
    if agency is None:
        return None
    reference = event.get("actor_reference")
    return f"{agency}, {reference[:12]}" if reference else f"{agency}, automatisch"


def _shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_shown(v) for v in value) or "-"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_shown(v)}" for k, v in value.items() if k not in _HIDDEN)
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "ja" if value else "nein"
    return str(value)


def entries(events: Sequence[Mapping[str, Any]]) -> list[Entry]:
    """The timeline, newest first, as the view's read API gave it (oldest first)."""
    lines = [
        Entry(
            at=datetime.fromisoformat(str(event["occurred_at"])),
            label=LABELS.get(str(event["type"]), str(event["type"])),
            service=str(event["type"]).split(".", 1)[0],
            details=tuple(
                (key, _shown(value))
                for key, value in (event.get("data") or {}).items()
                if key not in _HIDDEN
            ),
            read_only=bool(event.get("read_only")),
            recorded_by=_recorded_by(event),
        )
        for event in events
    ]
    return lines[::-1]
