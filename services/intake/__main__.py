"""Run intake's HTTP API: ``python -m services.intake``."""

from __future__ import annotations

import uvicorn

from services.chassis.logging import setup_logging
from services.chassis.telemetry import setup_tracing
from services.intake.app import create_app
from services.intake.settings import IntakeSettings


def main() -> None:
    settings = IntakeSettings()
    setup_logging("intake", level=settings.log_level, json=settings.log_json)
    setup_tracing(
        "intake", exporter=settings.trace_exporter, sample_ratio=settings.trace_sample_ratio
    )
    uvicorn.run(
        create_app(settings),
        host=settings.intake_host,
        port=settings.intake_port,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
