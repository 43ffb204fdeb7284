"""OpenTelemetry set-up, once per process, and the bridge between spans and envelopes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from opentelemetry import propagate, trace

from contracts.envelope import TraceContext

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider


def setup_tracing(
    service_name: str,
    *,
    exporter: str = "none",
    sample_ratio: float = 1.0,
    zipkin_endpoint: str | None = None,
    extra_processors: tuple[SpanProcessor, ...] = (),
) -> TracerProvider | None:
    """Install the process's tracer provider; with exporter "none" and no extra processors,
    tracing stays the API's no-op and costs nothing."""
    if exporter == "none" and not extra_processors:
        return None
    # Imported only here: the SDK and the exporter (with requests and psutil) would cost an
    # untraced process about ten megabytes of memory.
    from opentelemetry.sdk.resources import Resource  # noqa: PLC0415
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import (  # noqa: PLC0415
        BatchSpanProcessor,
        ConsoleSpanExporter,
    )
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased  # noqa: PLC0415

    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name}),
        sampler=ParentBased(TraceIdRatioBased(sample_ratio)),
    )
    if exporter == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    elif exporter == "zipkin":
        from opentelemetry.exporter.zipkin.json import ZipkinExporter  # noqa: PLC0415

        provider.add_span_processor(
            BatchSpanProcessor(ZipkinExporter(endpoint=zipkin_endpoint), schedule_delay_millis=500)
        )
    for processor in extra_processors:
        provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    return provider


def trace_headers() -> dict[str, str]:
    """The W3C headers of the current span, for an HTTP call to another platform process
    (so a case worker's click and the command it sends are one trace)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def current_trace_context() -> TraceContext:
    """The W3C context of the current span, to carry across the outbox hop."""
    carrier = trace_headers()
    return TraceContext(
        traceparent=carrier.get("traceparent"), tracestate=carrier.get("tracestate")
    )
