"""The steering page's bar charts, drawn on the server as SVG geometry.

Pure: rows in (as the steering view's ``GET /figures`` answers: cells and totals), bars out.
A suppressed cell or total (fewer than five persons, or withheld so that no such cell can be
worked out) gets no bar and no number, only a hatched mark that never says which: the page
must not make visible what the view withheld.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
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
_SHORT_AREA: Final = {"IP-MG": "IP MG", "IP-RKN": "IP RKN", "NE": "NE", "GV": "GV"}
WITHHELD: Final = "•"  # the mark of a suppressed cell; the page's note explains it


@dataclass(frozen=True)
class Bar:
    x: int
    height: int
    top: str  # the first line under the bar: the site, or the total's area
    bottom: str  # the second: Rechtskreis and age band, or what the total spans
    name: str  # the tooltip's name: "MG III 25+", or the total's German label
    rechtskreis: str | None  # None: a total over both
    value: float | None
    persons: int | None

    @property
    def label(self) -> str:
        return self.name

    @property
    def suppressed(self) -> bool:
        return self.value is None

    @property
    def shown_value(self) -> str:
        if self.value is None:
            return WITHHELD
        return str(int(self.value)) if float(self.value).is_integer() else f"{self.value:.1f}"


@dataclass(frozen=True)
class Chart:
    figure: str
    version: str
    bars: tuple[Bar, ...]
    width: int
    totals: tuple[Bar, ...] = ()
    totals_width: int = 0

    @property
    def title(self) -> str:
        return TITLES.get(self.figure, self.figure)

    @property
    def all_suppressed(self) -> bool:
        return all(bar.suppressed for bar in (*self.bars, *self.totals))


def charts(
    rows: Iterable[Mapping[str, Any]], totals: Iterable[Mapping[str, Any]] = ()
) -> list[Chart]:
    """One chart per figure: its cells, then its totals, each in the order the view sent
    them and on a scale of their own (a total outgrows its cells)."""
    cells_of = _by_figure(rows)
    totals_of = _by_figure(totals)
    result = []
    for figure, cells in cells_of.items():
        bars = _bars(cells, _cell_names)
        summed = _bars(totals_of.get(figure, []), _total_names)
        result.append(
            Chart(
                figure,
                str(cells[0].get("version", "")),
                bars,
                len(bars) * (BAR_WIDTH + GAP),
                summed,
                len(summed) * (BAR_WIDTH + GAP),
            )
        )
    return result


def _by_figure(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    by_figure: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_figure.setdefault(str(row["figure"]), []).append(row)
    return by_figure


def _cell_names(cell: Mapping[str, Any]) -> tuple[str, str, str]:
    rk = str(cell["rechtskreis"])
    bottom = f"{_SHORT_RK.get(rk, rk)} {_SHORT_BAND.get(cell['age_band'], cell['age_band'])}"
    return str(cell["site"]), bottom, f"{cell['site']} {bottom}"


def _total_names(total: Mapping[str, Any]) -> tuple[str, str, str]:
    area = _SHORT_AREA.get(str(total["area"]), str(total["area"]))
    rk, band = total.get("rechtskreis"), total.get("age_band")
    label = str(total.get("label") or area)
    if rk == "SGB II" and area.startswith("IP "):
        return area.replace("IP", "JC", 1), "gesamt", label
    if rk:
        return area, _SHORT_RK.get(str(rk), str(rk)), label
    if band:
        return area, _SHORT_BAND.get(str(band), str(band)), label
    return area, "gesamt", label


def _bars(
    rows: list[Mapping[str, Any]], names: Callable[[Mapping[str, Any]], tuple[str, str, str]]
) -> tuple[Bar, ...]:
    values = [float(r["value"]) for r in rows if r.get("value") is not None]
    scale = max(values, default=0.0) or 1.0
    bars = []
    for i, row in enumerate(rows):
        value = None if row.get("value") is None else float(row["value"])
        top, bottom, name = names(row)
        bars.append(
            Bar(
                x=i * (BAR_WIDTH + GAP),
                height=0 if value is None else max(1, round(value / scale * PLOT_HEIGHT)),
                top=top,
                bottom=bottom,
                name=name,
                rechtskreis=None if row.get("rechtskreis") is None else str(row["rechtskreis"]),
                value=value,
                persons=row.get("persons"),
            )
        )
    return tuple(bars)
