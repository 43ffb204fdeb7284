"""The steering page's bar charts, drawn on the server as SVG geometry.

Pure: rows in (as the steering view's ``GET /figures`` answers), bars out. A suppressed cell
(fewer than five persons) gets no bar and no number, only a mark: the page must not make
the small count visible that the view withheld.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

BAR_WIDTH: Final = 34
GAP: Final = 10
PLOT_HEIGHT: Final = 120
# The figures' German titles for the report; a figure not named here shows its key.
TITLES: Final = {
    "caseload": "Bestand (Personen mit offenem Fall am Monatsende)",
    "intake.allocation": "Zugänge: Zuweisungen im Monat",
    "intake.handover": "Zugänge durch Übergabe",
    "exits.handover": "Abgänge durch Übergabe",
    "exits.closed.work": "Abgänge: Arbeit",
    "exits.closed.apprenticeship": "Abgänge: Ausbildung",
    "exits.closed.moved_away": "Abgänge: Wegzug",
    "exits.closed.left_germany": "Abgänge: Ausreise",
    "exits.closed.contact_lost": "Abgänge: Kontakt verloren",
    "exits.closed.other": "Abgänge: sonstige",
    "first_contact.days_median": "Tage Zuweisung bis Erstkontakt (Median)",
    "first_contact.days_p90": "Tage Zuweisung bis Erstkontakt (P90)",
    "first_contact.within_14_days_share": "Erstkontakt binnen 14 Tagen (%)",
    "first_contact.outstanding_over_14_days": "Erstkontakt seit über 14 Tagen offen",
    "contact_gap.over_90_days": "Kontaktlücke über 90 Tage",
    "profile.completeness_mean": "Profilvollständigkeit (Mittel, %)",
    "profile.complete_share": "Vollständige Profile (%)",
    "language.entitlements_issued": "Kursberechtigungen erteilt",
    "language.entitlement_to_start_days_median": "Tage Berechtigung bis Kursbeginn (Median)",
    "language.in_course": "Im Sprachkurs",
    "language.completed": "Sprachkurs abgeschlossen",
    "language.dropped": "Sprachkurs abgebrochen",
    "language.b1_rate": "B1 erreicht (%)",
    "recognition.applications": "Anerkennungsanträge",
    "recognition.days_to_decision_median": "Tage bis Bescheid (Median)",
    "recognition.decision.full": "Bescheid: volle Gleichwertigkeit",
    "recognition.decision.partial": "Bescheid: teilweise Gleichwertigkeit",
    "recognition.decision.none": "Bescheid: keine Gleichwertigkeit",
    "recognition.decision.refused_no_cooperation": "Bescheid: abgelehnt (Mitwirkung)",
    "recognition.adaptation_started": "Anpassungsqualifizierung begonnen",
    "recognition.adaptation_completed": "Anpassungsqualifizierung abgeschlossen",
    "permission.granted": "Beschäftigungserlaubnis erteilt",
    "permission.refused": "Beschäftigungserlaubnis versagt",
    "handover.complete_package_share": "Übergaben mit vollständigem Paket (%)",
    "handover.aa_to_jc_contact_days_median": "Tage letzter AA- bis erster JC-Kontakt (Median)",
    "placement.started.work": "Arbeitsaufnahmen",
    "placement.started.apprenticeship": "Ausbildungsbeginne",
    "placement.started.eq": "Einstiegsqualifizierungen",
    "placement.started.internship": "Praktika",
    "placement.started.minijob": "Minijobs",
    "placement.in_post_6_months": "Nach 6 Monaten noch beschäftigt",
    "placement.in_post_12_months": "Nach 12 Monaten noch beschäftigt",
    "interpreter.requests": "Sprachmittlungen angefragt",
    "interpreter.failures": "Sprachmittlungen ausgefallen",
    "consent.valid_share": "Mit gültiger Einwilligung (%)",
}
_SHORT_RK: Final = {"SGB III": "III", "SGB II": "II"}
_SHORT_BAND: Final = {"unter 25": "<25", "25 und älter": "25+", "unbekannt": "?"}


@dataclass(frozen=True)
class Bar:
    x: int
    height: int
    site: str
    rechtskreis: str
    age_band: str
    value: float | None
    persons: int | None

    @property
    def label(self) -> str:
        rk = _SHORT_RK.get(self.rechtskreis, self.rechtskreis)
        return f"{self.site} {rk} {_SHORT_BAND.get(self.age_band, self.age_band)}"

    @property
    def suppressed(self) -> bool:
        return self.value is None

    @property
    def shown_value(self) -> str:
        if self.value is None:
            return "< 5"
        return str(int(self.value)) if float(self.value).is_integer() else f"{self.value:.1f}"


@dataclass(frozen=True)
class Chart:
    figure: str
    version: str
    bars: tuple[Bar, ...]
    width: int

    @property
    def title(self) -> str:
        return TITLES.get(self.figure, self.figure)

    @property
    def all_suppressed(self) -> bool:
        return all(bar.suppressed for bar in self.bars)


def charts(rows: Iterable[Mapping[str, Any]]) -> list[Chart]:
    """One chart per figure, its cells in the order the view sent them."""
    by_figure: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_figure.setdefault(str(row["figure"]), []).append(row)
    result = []
    for figure, cells in by_figure.items():
        values = [float(c["value"]) for c in cells if c.get("value") is not None]
        top = max(values, default=0.0) or 1.0
        bars = tuple(
            Bar(
                x=i * (BAR_WIDTH + GAP),
                height=0
                if cell.get("value") is None
                else max(1, round(float(cell["value"]) / top * PLOT_HEIGHT)),
                site=str(cell["site"]),
                rechtskreis=str(cell["rechtskreis"]),
                age_band=str(cell["age_band"]),
                value=None if cell.get("value") is None else float(cell["value"]),
                persons=cell.get("persons"),
            )
            for i, cell in enumerate(cells)
        )
        width = len(bars) * (BAR_WIDTH + GAP)
        result.append(Chart(figure, str(cells[0].get("version", "")), bars, width))
    return result
