"""Run the Agentur view (projection and read API): ``python -m services.projections``."""

from __future__ import annotations

from services.chassis.process import serve_http
from services.projections.app import create_app
from services.projections.settings import AgenturViewSettings


def main() -> None:
    settings = AgenturViewSettings()
    serve_http(
        "projection.aa_mg", settings, create_app, host=settings.view_host, port=settings.view_port
    )


if __name__ == "__main__":
    main()
