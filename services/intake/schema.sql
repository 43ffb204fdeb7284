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

-- What intake learned from the other services' topics for the hand-over package
-- (kept by its reactions; a read model inside intake, not part of its event stream).
CREATE TABLE IF NOT EXISTS case_milestones (
    case_id           uuid PRIMARY KEY,
    language_level    text,
    running_courses   text[] NOT NULL DEFAULT '{}',
    recognition_state text,
    measures          text[] NOT NULL DEFAULT '{}',
    employer_contacts integer NOT NULL DEFAULT 0,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
