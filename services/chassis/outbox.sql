-- The outbox: rows to publish on Kafka, written in the same transaction as what caused them.
-- Unsent rows are found by sent_at IS NULL, never by "position > last published": a
-- transaction that took a lower position but commits later is still picked up.
CREATE TABLE IF NOT EXISTS outbox (
    position   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id   uuid        NOT NULL UNIQUE,
    topic      text        NOT NULL,
    key        text        NOT NULL,
    payload    bytea       NOT NULL,
    headers    jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at    timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (position) WHERE sent_at IS NULL;
