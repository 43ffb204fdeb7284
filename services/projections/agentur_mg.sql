-- The view of the Agentur für Arbeit Mönchengladbach (SGB III): every case of the district.
CREATE TABLE IF NOT EXISTS aa_mg_cases (
    case_id              uuid PRIMARY KEY,
    given_name           text,
    family_name          text,
    date_of_birth        date,
    nationality          text,
    languages            text[] NOT NULL DEFAULT '{}',
    site                 text,
    town                 text,
    allocated_on         date,
    first_contact_on     date,
    interpreter_language text,
    version              integer NOT NULL DEFAULT 0,
    -- counts applications: equals the stream's event count unless something applied twice
    events_applied       integer NOT NULL DEFAULT 1,
    updated_at           timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS aa_mg_cases_site ON aa_mg_cases (site, allocated_on);
