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

-- The disclosure log: what was materialised into this view, when, on which legal basis or
-- consent. In public like the access log, not in the generation: it records what happened,
-- and a rebuild (which reads the topics in another order across topics and may never
-- materialise what the live view held for a while) must neither take it away nor rewrite it.
-- A rebuild's disclosures join it; an event already logged for this view keeps its first row.
CREATE TABLE IF NOT EXISTS public.disclosures (
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
CREATE INDEX IF NOT EXISTS disclosures_case ON public.disclosures (case_id);

-- A generation made while the log lived in the generation keeps its own table: fold it in.
DO $$
BEGIN
    IF current_schema() <> 'public'
        AND to_regclass(format('%I.disclosures', current_schema())) IS NOT NULL THEN
        EXECUTE format(
            'INSERT INTO public.disclosures SELECT * FROM %I.disclosures ON CONFLICT DO NOTHING',
            current_schema()
        );
        EXECUTE format('DROP TABLE %I.disclosures', current_schema());
    END IF;
END $$;

-- Which cases' registrations the view has read (ids only, no data), and the cases with an
-- event read before their registration: the four topics' partitions are read in no order
-- across topics (a catch-up, a rebuild), so a case's registration may come after its other
-- events; it then re-judges the case with its history read back, and live and rebuilt
-- views hold the same.
CREATE TABLE IF NOT EXISTS registered_cases (case_id uuid PRIMARY KEY);
CREATE TABLE IF NOT EXISTS early_cases (case_id uuid PRIMARY KEY);
