"""The command forms: which service and path each one posts to, its fields in German, how a
submitted form becomes the command's JSON body, and how a service's answer becomes messages
next to the fields.

Pure: no HTTP here. The services decide what is valid (422 names the field, 409 the rule);
the forms only carry their answers back to the place where the case worker typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, Literal
from uuid import UUID, uuid4

from contracts.common import TOWNS_BY_SITE, CefrLevel, Site
from contracts.intake import ContactChannel
from contracts.placement import MeasureKind
from contracts.recognition import Beratungsstelle, QualificationKind

Kind = Literal["text", "date", "select", "list"]
Options = tuple[tuple[str, str], ...]  # (value sent to the service, German label)


@dataclass(frozen=True)
class FormField:
    """One input: its name is the command's field name, so a 422 finds it."""

    name: str
    label: str
    kind: Kind = "text"
    options: Options = ()
    required: bool = True
    hint: str = ""


@dataclass(frozen=True)
class CommandForm:
    """A command of one service, as a form on the case page (or the registration page)."""

    key: str  # the form's URL segment
    title: str
    service: Literal["intake", "language", "recognition", "placement"]
    path: str  # with ``{case_id}``, except for the registration that opens a case
    fields: tuple[FormField, ...]
    minted: tuple[str, ...] = ()  # ids the form mints (a procedure, a measure)
    done: str = "gespeichert"

    def url_path(self, case_id: UUID | None) -> str:
        return self.path.format(case_id=case_id) if "{case_id}" in self.path else self.path


def _choices(labels: Mapping[Any, str]) -> Options:
    return tuple((str(value), label) for value, label in labels.items())


def _enum_choices(kind: type[StrEnum]) -> Options:
    return tuple((member.value, member.value) for member in kind)


def _select(name: str, label: str, labels: Mapping[Any, str]) -> FormField:
    """A choice among a contract's values, each shown with its German label."""
    return FormField(name, label, "select", _choices(labels))


TOWNS: Final[Options] = tuple(
    (town, f"{town} ({site.value})") for site in Site for town in sorted(TOWNS_BY_SITE[site])
)
SITES: Final = _choices({Site.MG: "Mönchengladbach", Site.NE: "Neuss", Site.GV: "Grevenbroich"})

REGISTER = CommandForm(
    key="registrieren",
    title="Person registrieren",
    service="intake",
    path="/cases",
    fields=(
        FormField("given_name", "Vorname"),
        FormField("family_name", "Familienname"),
        FormField("date_of_birth", "Geburtsdatum", "date"),
        FormField("nationality", "Staatsangehörigkeit", hint="ISO-Code, z. B. SYR, ERI, IRQ"),
        FormField("languages", "Sprachen", "list", required=False, hint="ISO-Codes, z. B. ar, ku"),
        FormField("site", "Standort", "select", SITES),
        FormField("town", "Zuweisung an", "select", TOWNS),
        FormField("allocated_on", "Zuweisung am", "date"),
    ),
    done="Person registriert",
)

FIRST_CONTACT = CommandForm(
    key="erstkontakt",
    title="Erstkontakt erfassen",
    service="intake",
    path="/cases/{case_id}/first-contact",
    fields=(
        FormField("contacted_on", "Erstkontakt am", "date"),
        FormField(
            "interpreter_language",
            "Sprachmittlung in",
            required=False,
            hint="ISO-Code, leer: ohne Sprachmittler",
        ),
    ),
    done="Erstkontakt erfasst",
)

CONTACT = CommandForm(
    key="kontakt",
    title="Weiteren Kontakt erfassen",
    service="intake",
    path="/cases/{case_id}/contacts",
    fields=(
        FormField("contacted_on", "Kontakt am", "date"),
        _select(
            "channel",
            "Kontaktweg",
            {
                ContactChannel.IN_PERSON: "persönlich",
                ContactChannel.PHONE: "telefonisch",
                ContactChannel.VIDEO: "Video",
                ContactChannel.SHARED_HOUSING_OUTREACH: "aufsuchend (Unterkunft)",
            },
        ),
    ),
    done="Kontakt erfasst",
)

PLACEMENT_TEST = CommandForm(
    key="einstufungstest",
    title="Einstufungstest (Sprache)",
    service="language",
    path="/cases/{case_id}/placement-tests",
    fields=(
        FormField("level", "Festgestelltes Niveau (GER)", "select", _enum_choices(CefrLevel)),
        FormField("taken_on", "Test am", "date"),
    ),
    done="Einstufungstest erfasst",
)

COUNSELLING = CommandForm(
    key="anerkennungsberatung",
    title="Anerkennungsberatung",
    service="recognition",
    path="/cases/{case_id}/counselling",
    fields=(
        _select(
            "qualification_kind",
            "Art des Abschlusses",
            {
                QualificationKind.BERUFSABSCHLUSS: "Berufsabschluss",
                QualificationKind.HOCHSCHULABSCHLUSS: "Hochschulabschluss",
            },
        ),
        FormField("qualification_title", "Bezeichnung des Abschlusses"),
        FormField("country", "Erworben in", hint="ISO-Code, z. B. SYR"),
        _select(
            "counselled_by",
            "Beratung durch",
            {
                Beratungsstelle.IQ_BERATUNG: "IQ Netzwerk NRW",
                Beratungsstelle.KAMMER: "Kammer",
                Beratungsstelle.MIGRATIONSBERATUNG: "Migrationsberatung",
                Beratungsstelle.INTEGRATION_POINT: "Integration Point",
            },
        ),
        FormField("held_on", "Beratung am", "date"),
    ),
    minted=("procedure_id",),
    done="Anerkennungsberatung erfasst",
)

MEASURE = CommandForm(
    key="massnahme",
    title="Maßnahme beginnen",
    service="placement",
    path="/cases/{case_id}/measures",
    fields=(
        _select(
            "kind",
            "Maßnahme",
            {
                MeasureKind.PERF: "PerF (Perspektiven für Flüchtlinge)",
                MeasureKind.PERJUF: "PerjuF (Perspektiven für junge Flüchtlinge)",
                MeasureKind.KOMPAS: "KompAS",
                MeasureKind.BVB: "Berufsvorbereitende Bildungsmaßnahme",
                MeasureKind.AUSBILDUNGSBEGLEITENDE_HILFEN: "Ausbildungsbegleitende Hilfen",
                MeasureKind.MAG: "Maßnahme bei einem Arbeitgeber",
            },
        ),
        FormField("provider", "Träger"),
        FormField("started_on", "Beginn am", "date"),
    ),
    minted=("measure_id",),
    done="Maßnahme begonnen",
)

CASE_FORMS: Final = (FIRST_CONTACT, CONTACT, PLACEMENT_TEST, COUNSELLING, MEASURE)
FORMS: Final = {form.key: form for form in (REGISTER, *CASE_FORMS)}


def command_body(form: CommandForm, submitted: Mapping[str, str]) -> dict[str, Any]:
    """The command's JSON body from the submitted form: an empty optional field is left out
    (the service's default applies), a list is split at commas, minted ids are new."""
    body: dict[str, Any] = {}
    for item in form.fields:
        raw = submitted.get(item.name, "").strip()
        if item.kind == "list":
            body[item.name] = [part.strip() for part in raw.split(",") if part.strip()]
        elif raw or item.required:
            body[item.name] = raw  # a missing required value: the service names the field
    body.update({name: str(uuid4()) for name in form.minted})
    return body


# Pydantic's English reasons that case workers meet most, in German; others are shown as sent.
_REASONS: Final = (
    ("Field required", "Pflichtfeld"),
    ("Input should be a valid date", "Bitte ein gültiges Datum angeben (TT.MM.JJJJ)"),
    ("String should match pattern '^[A-Z]{3}$'", "Drei Großbuchstaben (ISO-Code), z. B. SYR"),
    ("String should match pattern '^[a-z]{2,3}$'", "Zwei oder drei Kleinbuchstaben, z. B. ar"),
    ("String should have at least 1 character", "Darf nicht leer sein"),
    ("Input should be", "Bitte einen der angebotenen Werte wählen"),
    (
        "Value error, must not be empty or consist only of spaces or invisible characters",
        "Darf nicht leer sein oder nur aus Leer- oder unsichtbaren Zeichen bestehen",
    ),
    (
        "Value error, a name needs at least one letter",
        "Ein Name braucht mindestens einen Buchstaben",
    ),
    ("Value error, a birth year before 1900", "Ein Geburtsjahr vor 1900 ist nicht plausibel"),
    ("the date lies in the future", "Das Datum liegt in der Zukunft"),
)
# Reasons that quote the input (the code refused): matched by what follows the quote.
_QUOTING_REASONS: Final = (
    (
        "is no ISO 3166-1 alpha-3 country code",
        "Kein ISO-3166-Ländercode (drei Buchstaben, z. B. SYR)",
    ),
    ("is no ISO 639 language code", "Kein ISO-639-Sprachcode (z. B. ar, ti, prs)"),
)


def german_reason(reason: str) -> str:
    for english, german in _REASONS:
        if reason.startswith(english):
            return german
    for english, german in _QUOTING_REASONS:
        if reason.endswith(english):
            return german
    return reason.removeprefix("Value error, ")


@dataclass
class Outcome:
    """What to show after a submission: messages per field, messages for the whole form."""

    field_errors: dict[str, list[str]] = field(default_factory=dict)
    form_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.field_errors and not self.form_errors


def refusal(form: CommandForm, status: int, answer: Any) -> Outcome:
    """The service's refusal, placed: a 422's problems next to their fields (a nested field
    like ``languages.1`` next to ``languages``); a problem no field of the form shows, a 409's
    rule and any other failure, above the form."""
    outcome = Outcome()
    names = {item.name for item in form.fields}
    if status == 422 and isinstance(answer, dict) and isinstance(answer.get("detail"), list):
        for problem in answer["detail"]:
            where = str(problem.get("field", "")).split(".", 1)[0]
            reason = german_reason(str(problem.get("reason", "")))
            if where in names:
                outcome.field_errors.setdefault(where, []).append(reason)
            else:
                outcome.form_errors.append(reason)
    elif status == 409 and isinstance(answer, dict):
        outcome.form_errors.append(
            f"Nicht möglich: {answer.get('detail', '')} (Regel {answer.get('rule', '?')})"
        )
    else:
        outcome.form_errors.append(f"Der Dienst {form.service} antwortete mit {status}.")
    return outcome


def values_for(form: CommandForm, submitted: Mapping[str, str]) -> dict[str, str]:
    """What to put back into the form after a refusal, so nothing typed is lost."""
    return {item.name: submitted.get(item.name, "") for item in form.fields}
