"""Run recognition's HTTP API: ``python -m services.recognition``."""

from __future__ import annotations

import uvicorn

from services.chassis.logging import setup_logging
from services.chassis.telemetry import setup_tracing
from services.recognition.app import create_app
from services.recognition.settings import RecognitionSettings


def main() -> None:
    settings = RecognitionSettings()
    setup_logging("recognition", level=settings.log_level, json=settings.log_json)
    setup_tracing(
        "recognition", exporter=settings.trace_exporter, sample_ratio=settings.trace_sample_ratio
    )
    uvicorn.run(
        create_app(settings),
        host=settings.recognition_host,
        port=settings.recognition_port,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
