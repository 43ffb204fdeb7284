"""Run placement's HTTP API and its reaction to intake: ``python -m services.placement``."""

from __future__ import annotations

import uvicorn

from services.chassis.logging import setup_logging
from services.chassis.telemetry import setup_tracing
from services.placement.app import create_app
from services.placement.settings import PlacementSettings


def main() -> None:
    settings = PlacementSettings()
    setup_logging("placement", level=settings.log_level, json=settings.log_json)
    setup_tracing(
        "placement", exporter=settings.trace_exporter, sample_ratio=settings.trace_sample_ratio
    )
    uvicorn.run(
        create_app(settings),
        host=settings.placement_host,
        port=settings.placement_port,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
