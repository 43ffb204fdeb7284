-- The steering view: per case, the dated facts the figures are computed from
-- (steering.CaseRecord); no name, no birth date, no free text. Figures are aggregates of
-- these rows, computed when asked for; small cells are suppressed on the way out.
CREATE TABLE IF NOT EXISTS steering_cases (
    case_id     uuid  PRIMARY KEY,
    record      jsonb NOT NULL,
    -- from when the person counts as 25 or older (the age band); kept only for a person
    -- under 25 when allocated (0001-01-01 otherwise: older on every day); NULL when
    -- unknown, e.g. after an erasure
    turns_25_on date
);
