"""Tracing off means nothing installed: the OpenTelemetry API's no-op, at no cost."""

from __future__ import annotations

from opentelemetry import trace

from services.chassis.telemetry import setup_tracing


def test_tracing_off_installs_no_provider() -> None:
    """With exporter "none" the process keeps the provider it had: no SDK, no processors."""
    before = trace.get_tracer_provider()

    provider = setup_tracing("intake", exporter="none", sample_ratio=1.0)

    assert provider is None
    assert trace.get_tracer_provider() is before
