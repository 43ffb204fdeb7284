"""Run the language service's HTTP API and its reactions: ``python -m services.language``."""

from __future__ import annotations

import uvicorn

from services.chassis.logging import setup_logging
from services.chassis.telemetry import setup_tracing
from services.language.app import create_app
from services.language.settings import LanguageSettings


def main() -> None:
    settings = LanguageSettings()
    setup_logging("language", level=settings.log_level, json=settings.log_json)
    setup_tracing(
        "language", exporter=settings.trace_exporter, sample_ratio=settings.trace_sample_ratio
    )
    uvicorn.run(
        create_app(settings),
        host=settings.language_host,
        port=settings.language_port,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
