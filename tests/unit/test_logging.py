"""Log lines: JSON with the service, the bound case and event ids, and the current trace id."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
import structlog
from opentelemetry import trace

from services.chassis.logging import setup_logging


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """JSON logging into a buffer; structlog's defaults come back afterwards."""
    buffer = io.StringIO()
    setup_logging("intake", json=True, stream=buffer)
    yield buffer
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def test_a_log_line_carries_trace_case_and_event_ids(log_lines: io.StringIO) -> None:
    """Inside a span and with ids bound, one JSON line names the service, the ids and the trace."""
    tracer = trace.get_tracer("tests")
    with (
        tracer.start_as_current_span("work") as span,
        structlog.contextvars.bound_contextvars(case_id="c-1", event_id="e-1"),
    ):
        structlog.get_logger("t").info("event.projected", event_type="intake.person_registered")

    line = json.loads(log_lines.getvalue().strip().splitlines()[-1])
    assert line["event"] == "event.projected"
    assert (line["service"], line["case_id"], line["event_id"]) == ("intake", "c-1", "e-1")
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert line["level"] == "info"


def test_below_the_level_nothing_is_written(log_lines: io.StringIO) -> None:
    """At the default INFO level, debug lines are dropped."""
    structlog.get_logger("t").debug("relay.published", count=3)

    assert log_lines.getvalue() == ""
