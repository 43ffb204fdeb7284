-- One partner's feed, in the schema partner_<name> of the partner feed's database.
-- The facts of the cases whose consent named the partner (no personal data), the events
-- folded into them, what was passed on under which consent, and the notices sent.
CREATE TABLE IF NOT EXISTS feed_facts (
    case_id  uuid PRIMARY KEY,
    facts    jsonb       NOT NULL,
    last_day timestamptz NOT NULL  -- the latest recording instant folded into the facts
);

CREATE TABLE IF NOT EXISTS feed_folded (
    event_id uuid PRIMARY KEY,
    case_id  uuid NOT NULL
);

CREATE TABLE IF NOT EXISTS feed_forwarded (
    event_id     uuid PRIMARY KEY,
    case_id      uuid        NOT NULL,
    consent_id   uuid        NOT NULL,
    category     text        NOT NULL,
    forwarded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS feed_forwarded_consent ON feed_forwarded (consent_id);

CREATE TABLE IF NOT EXISTS feed_notices (
    consent_id uuid PRIMARY KEY,
    case_id    uuid        NOT NULL,
    reason     text        NOT NULL,
    sent_at    timestamptz NOT NULL DEFAULT now()
);

-- The keys what was passed on is sealed with (services/projections/partner_keys.py): one per
-- person, consent and data category, deleted when the consent ends, the category's retention
-- period runs out or the person is erased. Only here.
CREATE TABLE IF NOT EXISTS feed_keys (
    key_id     text PRIMARY KEY,
    case_id    uuid        NOT NULL,
    consent_id uuid        NOT NULL,
    category   text,  -- NULL: a key from before keys were per category
    person     text        NOT NULL,  -- the pseudonym, which the partner checks the key against
    secret     bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS feed_keys_consent ON feed_keys (consent_id);
-- Feeds from before keys were per category: one key per person and consent.
ALTER TABLE feed_keys ADD COLUMN IF NOT EXISTS category text;
ALTER TABLE feed_keys DROP CONSTRAINT IF EXISTS feed_keys_case_id_consent_id_key;
CREATE UNIQUE INDEX IF NOT EXISTS feed_keys_per_category
    ON feed_keys (case_id, consent_id, category);
