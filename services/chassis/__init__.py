"""The small library every service shares: event store, outbox relay, projection runner,
personal-data sealing, telemetry, logging and settings. Nothing domain-specific lives here."""
