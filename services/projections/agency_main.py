"""Run one view: ``python -m services.projections.agency_main`` (IP_AGENCY_VIEW: an agency's
view such as ``aa_mg`` or ``jc_mg``, or ``steering``)."""

from __future__ import annotations

from services.chassis.process import serve_http
from services.projections.agency_settings import AgencyViewSettings
from services.projections.views import create_app


def main() -> None:
    settings = AgencyViewSettings()
    serve_http(
        f"projection.{settings.agency_view.value}",
        settings,
        create_app,
        host=settings.agency_host,
        port=settings.agency_port,
    )


if __name__ == "__main__":
    main()
