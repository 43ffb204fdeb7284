-- One agency's view: only what the purpose rules grant it, and the log of every disclosure.
-- The facts the rules need (site, responsibility, consent structure; no personal data) are
-- kept for the cases the view holds, so that a later event is judged without a replay.
CREATE TABLE IF NOT EXISTS case_facts (
    case_id    uuid PRIMARY KEY,
    facts      jsonb       NOT NULL,
    last_day   timestamptz NOT NULL  -- the latest recording instant of the case
);

CREATE TABLE IF NOT EXISTS case_events (
    event_id    uuid PRIMARY KEY,
    case_id     uuid        NOT NULL,
    type        text        NOT NULL,
    category    text,
    occurred_at timestamptz NOT NULL,
    read_only   boolean     NOT NULL,
    data        jsonb       NOT NULL
);
CREATE INDEX IF NOT EXISTS case_events_case ON case_events (case_id, occurred_at);

CREATE TABLE IF NOT EXISTS disclosures (
    event_id     uuid        NOT NULL,
    case_id      uuid        NOT NULL,
    from_agency  text        NOT NULL,
    to_view      text        NOT NULL,
    category     text,
    legal_basis  text,
    consent_id   uuid,
    disclosed_at timestamptz NOT NULL,
    PRIMARY KEY (event_id, to_view)
);
CREATE INDEX IF NOT EXISTS disclosures_case ON disclosures (case_id);
