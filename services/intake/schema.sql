-- Intake's own tables besides the chassis's event store.
-- One data key per person; erasure deletes the secret and keeps the fact that it existed.
CREATE TABLE IF NOT EXISTS person_keys (
    case_id    uuid PRIMARY KEY,
    key_id     text        NOT NULL UNIQUE,
    secret     bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    erased_at  timestamptz
);

CREATE TABLE IF NOT EXISTS key_access_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reader      text        NOT NULL,
    case_id     uuid        NOT NULL,
    granted     boolean     NOT NULL,
    accessed_at timestamptz NOT NULL DEFAULT now()
);

-- What intake learned from the other services' topics for the hand-over package (kept by
-- its reactions; a read model inside intake, not part of its event stream). Keyed so that
-- a redelivered event changes nothing.
CREATE TABLE IF NOT EXISTS milestone_facts (
    case_id     uuid        NOT NULL,
    kind        text        NOT NULL,
    item        text        NOT NULL,
    label       text,
    ended       boolean     NOT NULL DEFAULT false,
    occurred_at timestamptz NOT NULL,
    PRIMARY KEY (case_id, kind, item)
);
