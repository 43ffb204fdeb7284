"""Run the Agentur view (projection and read API): ``python -m services.projections``."""

from __future__ import annotations

import uvicorn

from services.chassis.logging import setup_logging
from services.chassis.telemetry import setup_tracing
from services.projections.app import create_app
from services.projections.settings import AgenturViewSettings


def main() -> None:
    settings = AgenturViewSettings()
    setup_logging("projection.aa_mg", level=settings.log_level, json=settings.log_json)
    setup_tracing(
        "projection.aa_mg",
        exporter=settings.trace_exporter,
        sample_ratio=settings.trace_sample_ratio,
    )
    uvicorn.run(
        create_app(settings), host=settings.view_host, port=settings.view_port, log_level="warning"
    )


if __name__ == "__main__":
    main()
