-- Intake's own tables besides the chassis's event store.
-- A person's data keys: one current key (new events are sealed with it) and the retired ones,
-- which still open what they sealed (rotation re-encrypts nothing already published).
-- Erasure deletes every secret of the person and keeps the fact that the keys existed.
CREATE TABLE IF NOT EXISTS person_keys (
    key_id     text        PRIMARY KEY,
    case_id    uuid        NOT NULL,
    secret     bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz,  -- a later key became current
    erased_at  timestamptz
);
-- Databases from before rotation had one key per person, keyed by case id.
ALTER TABLE person_keys ADD COLUMN IF NOT EXISTS retired_at timestamptz;
DO $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE conrelid = 'person_keys'::regclass AND contype = 'p'
          AND pg_get_constraintdef(oid) = 'PRIMARY KEY (case_id)'
    ) THEN
        ALTER TABLE person_keys DROP CONSTRAINT person_keys_pkey;
        ALTER TABLE person_keys DROP CONSTRAINT IF EXISTS person_keys_key_id_key;
        ALTER TABLE person_keys ADD PRIMARY KEY (key_id);
    END IF;
END $$;
CREATE UNIQUE INDEX IF NOT EXISTS person_keys_current ON person_keys (case_id)
    WHERE retired_at IS NULL;
CREATE INDEX IF NOT EXISTS person_keys_case ON person_keys (case_id);

CREATE TABLE IF NOT EXISTS key_access_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reader      text        NOT NULL,
    case_id     uuid        NOT NULL,
    granted     boolean     NOT NULL,
    accessed_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE key_access_log ADD COLUMN IF NOT EXISTS key_id text;  -- none: the current key

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
