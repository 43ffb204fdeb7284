-- What every projection keeps next to its view rows, in the same transactions.
CREATE TABLE IF NOT EXISTS projection_positions (
    topic       text    NOT NULL,
    "partition" integer NOT NULL,
    "offset"    bigint  NOT NULL,
    PRIMARY KEY (topic, "partition")
);

CREATE TABLE IF NOT EXISTS applied_events (
    event_id   uuid PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- Cases whose messages are parked: later messages of the same case are parked behind the
-- first, so that a case's events are never applied out of order. A replay of the first
-- (header dlq.replayed_from) releases the case.
CREATE TABLE IF NOT EXISTS parked_keys (
    key            text PRIMARY KEY,
    first_event_id uuid,
    parked_at      timestamptz NOT NULL DEFAULT now()
);
