-- The steering view: per case, the dated facts the figures are computed from
-- (steering.CaseRecord); no name, no birth date, no free text. Figures are aggregates of
-- these rows, computed when asked for; small cells are suppressed on the way out.
CREATE TABLE IF NOT EXISTS steering_cases (
    case_id     uuid  PRIMARY KEY,
    record      jsonb NOT NULL,
    -- from when the person counts as 25 or older (the age band); kept only for a person
    -- under 25 when allocated (0001-01-01 otherwise: older on every day); NULL when
    -- unknown
    turns_25_on date,
    -- after an erasure: the last day the band is known (NULL: every day)
    age_known_until date
);
ALTER TABLE steering_cases ADD COLUMN IF NOT EXISTS age_known_until date;

-- What an erasure left of a person's age band (steering.AgeFacts.erased): in public, beside
-- the access log, so that a rebuild, which can no longer open the birth date, keeps it too.
CREATE TABLE IF NOT EXISTS public.steering_erased_ages (
    case_id     uuid PRIMARY KEY,
    turns_25_on date NOT NULL,
    known_until date NOT NULL
);
