-- The write side of one service: its streams, the commands already handled, and the outbox.
CREATE TABLE IF NOT EXISTS events (
    position       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream_id      uuid        NOT NULL,
    version        integer     NOT NULL CHECK (version >= 1),
    event_id       uuid        NOT NULL UNIQUE,
    type           text        NOT NULL,
    schema_version integer     NOT NULL,
    body           jsonb       NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (stream_id, version)
);

CREATE TABLE IF NOT EXISTS handled_commands (
    idempotency_key text PRIMARY KEY,
    stream_id       uuid        NOT NULL,
    first_version   integer     NOT NULL,
    last_version    integer     NOT NULL,
    handled_at      timestamptz NOT NULL DEFAULT now()
);

-- What the key stood for: a hash of (command type, case, canonical body, acting agency), so a
-- key reused for another request is refused instead of answered with the first one's outcome.
ALTER TABLE handled_commands ADD COLUMN IF NOT EXISTS request_hash text;
