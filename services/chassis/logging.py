"""structlog set-up, once per process: JSON lines, or a console renderer on a TTY.

Every line carries the current trace id; handlers bind case_id and event_id with
``structlog.contextvars.bound_contextvars``. Personal data is never logged: only ids.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog
from opentelemetry import trace


def _add_trace_ids(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict["trace_id"] = format(context.trace_id, "032x")
        event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict


def setup_logging(
    service_name: str,
    *,
    level: str = "INFO",
    json: bool | None = None,
    stream: TextIO | None = None,
) -> None:
    """Configure structlog (and the stdlib root logger) for this process; lines go to
    ``stream``, standard error by default."""
    output = stream or sys.stderr
    render_json = not output.isatty() if json is None else json
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if render_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _add_trace_ids,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level]),
        logger_factory=structlog.PrintLoggerFactory(file=output),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service_name)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
