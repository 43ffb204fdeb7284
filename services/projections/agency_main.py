"""Run one agency's view: ``python -m services.projections.agency_main`` (IP_AGENCY_VIEW)."""

from __future__ import annotations

from services.chassis.process import serve_http
from services.projections.agency_app import create_app
from services.projections.agency_settings import AgencyViewSettings


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
