-- Cases whose messages are parked: later messages of the same case are parked behind the
-- first, so that a case's events are never applied out of order. A replay of the first
-- (header dlq.replayed_from) releases the case. A projection keys it by case id; a
-- service's reactions share their database, so theirs are '<reaction>:<case id>'.
CREATE TABLE IF NOT EXISTS parked_keys (
    key            text PRIMARY KEY,
    first_event_id uuid,
    parked_at      timestamptz NOT NULL DEFAULT now()
);
