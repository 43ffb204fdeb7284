"""Run the intake service (HTTP API and reactions): ``python -m services.intake``."""

from __future__ import annotations

from services.chassis.process import serve_http
from services.intake.app import create_app
from services.intake.settings import IntakeSettings


def main() -> None:
    settings = IntakeSettings()
    serve_http("intake", settings, create_app, host=settings.intake_host, port=settings.intake_port)


if __name__ == "__main__":
    main()
