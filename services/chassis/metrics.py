"""Prometheus metrics every process exposes (``/metrics``; relays on their own port)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

COMMANDS = Counter(
    "ip_commands_total",
    "Commands by outcome: accepted, replayed (idempotency key seen), refused (409), invalid (422)",
    ["command", "result"],
)
APPEND_SECONDS = Histogram(
    "ip_append_seconds",
    "Time to append a command's events with their outbox rows, in one transaction",
    ["topic"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
OUTBOX_BACKLOG = Gauge("ip_outbox_backlog", "Outbox rows not yet published", ["relay"])
OUTBOX_OLDEST_AGE = Gauge(
    "ip_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row (0: none)", ["relay"]
)
PUBLISHED = Counter("ip_relay_published_total", "Outbox rows published to Kafka", ["relay"])
CONSUMER_LAG = Gauge(
    "ip_consumer_lag",
    "Messages behind the end of the partition",
    ["consumer", "topic", "partition"],
)
APPLIED = Counter("ip_projection_applied_total", "Events applied to a view", ["projection"])
DEAD_LETTERS = Counter(
    "ip_dead_letters_total", "Messages parked on the dead-letter topic", ["consumer"]
)
