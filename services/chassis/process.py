"""Starting a platform process: logging and tracing set up once, then the server runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import uvicorn
from fastapi import FastAPI

from services.chassis.logging import setup_logging
from services.chassis.settings import ProcessSettings
from services.chassis.telemetry import setup_tracing

Settings = TypeVar("Settings", bound=ProcessSettings)


def observe(name: str, settings: ProcessSettings) -> None:
    """Logs and traces of this process, as its settings say."""
    setup_logging(name, level=settings.log_level, json=settings.log_json)
    setup_tracing(
        name,
        exporter=settings.trace_exporter,
        sample_ratio=settings.trace_sample_ratio,
        zipkin_endpoint=settings.zipkin_endpoint,
    )


def serve_http(
    name: str,
    settings: Settings,
    create_app: Callable[[Settings], FastAPI],
    *,
    host: str,
    port: int,
) -> None:
    """Run an HTTP process (a service or a view) until it is stopped."""
    observe(name, settings)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
