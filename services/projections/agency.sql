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
-- Who recorded the event: the agency, and the person's role and pseudonymous reference (the
-- envelope's actor; none for what a service recorded in reaction to another event).
ALTER TABLE case_events ADD COLUMN IF NOT EXISTS recorded_by text;
ALTER TABLE case_events ADD COLUMN IF NOT EXISTS actor_role text;
ALTER TABLE case_events ADD COLUMN IF NOT EXISTS actor_reference text;

-- The disclosure log: what was shown in this view (held when a batch of the served generation
-- committed), recorded when, on which legal basis or consent. In public like the access log,
-- not in the generation: it records what happened, and a rebuild must neither take it away
-- nor rewrite it. What the view shows and later takes back by judging the case again (a
-- consent withdrawn; an event read before one of another topic recorded earlier) stays logged:
-- it was shown. Rows of an uncommitted batch are taken back with what they log.
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

-- The log rows of a generation not served yet (a rebuild's): nobody has been shown them. The
-- generation takes back a case's rows here whenever it judges the case again, so what is left
-- is what it holds, on the ground it holds it on. When the generation is served (the live
-- process installs it after the swap, before it reads from it), they join the log; an event
-- the log already has keeps its first row. A rebuild never swapped in adds nothing.
CREATE TABLE IF NOT EXISTS disclosures_unshown (LIKE public.disclosures INCLUDING ALL);
DO $$
DECLARE
    served text := 'public';
BEGIN
    IF to_regclass('public.view_generation') IS NOT NULL THEN
        SELECT coalesce(max(active), 'public') INTO served FROM public.view_generation;
    END IF;
    IF current_schema() = served THEN
        INSERT INTO public.disclosures SELECT * FROM disclosures_unshown ON CONFLICT DO NOTHING;
        DELETE FROM disclosures_unshown;
    END IF;
END $$;

-- Which cases' registrations the view has read (ids only, no data), and the cases with an
-- event read before their registration: the four topics' partitions are read in no order
-- across topics (a catch-up, a rebuild), so a case's registration may come after its other
-- events; it then re-judges the case with its history read back, and live and rebuilt
-- views hold the same.
CREATE TABLE IF NOT EXISTS registered_cases (case_id uuid PRIMARY KEY);
CREATE TABLE IF NOT EXISTS early_cases (case_id uuid PRIMARY KEY);
