"""The steering report: the steering view's figures as bar charts, and its CSV export."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import HTMLResponse

from services.web import charts
from services.web.backends import ViewUnavailableError
from services.web.pages import Signed, Talk, page

router = APIRouter()


@router.get("/steuerung", response_class=HTMLResponse)
async def steeringpage(request: Request, session: Signed, talk: Talk) -> HTMLResponse:
    try:
        months_answer = await talk.steering(session, "/months")
        if months_answer.status_code != 200:
            return page(
                request,
                "fehler.html",
                months_answer.status_code,
                session=session,
                message="Die Steuerungsansicht verweigert den Zugriff "
                f"({months_answer.status_code}): {months_answer.text[:300]}",
            )
        months = _months(months_answer.json())
        month = request.query_params.get("monat") or (months[-1] if months else "")
        figures: dict[str, Any] = {}
        if month:
            answer = await talk.steering(session, "/figures", month=month)
            if answer.status_code == 200:
                figures = answer.json()
    except ViewUnavailableError as error:
        return page(request, "fehler.html", 503, session=session, message=str(error))
    drawn = charts.charts(figures.get("rows", []), figures.get("totals", []))
    return page(
        request,
        "steuerung.html",
        session=session,
        months=months,
        month=month,
        shown=[c for c in drawn if not c.all_suppressed],
        suppressed=[c for c in drawn if c.all_suppressed],
        descriptions=_descriptions(figures),
        plot_height=charts.PLOT_HEIGHT,
        bar_width=charts.BAR_WIDTH,
    )


def _months(body: Any) -> list[str]:
    listed = body.get("months", []) if isinstance(body, dict) else body
    return sorted(str(m if not isinstance(m, dict) else m.get("month")) for m in listed or [])


def _descriptions(figures: dict[str, Any]) -> dict[str, str]:
    """Each figure's definition text, when the view sends its definitions."""
    definitions = figures.get("definitions") or figures.get("figures") or []
    if isinstance(definitions, dict):
        return {str(k): str(v.get("description", v)) for k, v in definitions.items()}
    return {
        str(d.get("key") or d.get("figure")): str(d.get("description", ""))
        for d in definitions
        if isinstance(d, dict)
    }


@router.get("/steuerung.csv", response_model=None)
async def steering_csv(request: Request, session: Signed, talk: Talk) -> Response:
    month = request.query_params.get("monat", "")
    try:
        answer = await talk.steering(session, "/figures.csv", month=month)
    except ViewUnavailableError as error:
        return Response(str(error), status.HTTP_503_SERVICE_UNAVAILABLE)
    return Response(
        answer.content,
        answer.status_code,
        media_type=answer.headers.get("content-type", "text/csv"),
        headers={"Content-Disposition": f'attachment; filename="steuerung-{month}.csv"'},
    )
