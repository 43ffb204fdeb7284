-- Every read of the view's API, granted or refused: who (the token's agency, user and role),
-- what (method, path, the case, the data categories shown), when, for which purpose. In the
-- public schema, not the generation's: it records reads, it is not derived from the topics,
-- so a rebuild of the view (a fresh generation) must not take it away. Append-only, except
-- for the access-log retention job: an erased person's rows go after their keeping period
-- (docs/data-protection.md).
CREATE TABLE IF NOT EXISTS public.access_log (
    id         bigserial   PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    view       text        NOT NULL,
    agency     text        NOT NULL,
    user_name  text        NOT NULL,
    role       text        NOT NULL,
    purpose    text        NOT NULL,
    method     text        NOT NULL,
    path       text        NOT NULL,
    case_id    uuid,                          -- the case read or asked for (none for a list)
    listed     uuid[]      NOT NULL DEFAULT '{}',  -- the case ids a list showed
    categories text[]      NOT NULL DEFAULT '{}',  -- the data categories shown
    granted    boolean     NOT NULL,
    reason     text                           -- why a read was refused
);
CREATE INDEX IF NOT EXISTS access_log_case ON public.access_log (case_id, at);
CREATE INDEX IF NOT EXISTS access_log_listed ON public.access_log USING gin (listed);

-- The erasures (DSGVO Art. 17) the view has seen, for the access-log retention job: no
-- personal data, the case id and the erasure's business date. In public like the access
-- log; a rebuild that sees the erasure again changes nothing.
CREATE TABLE IF NOT EXISTS public.erasures (
    case_id            uuid        PRIMARY KEY,
    erased_on          date        NOT NULL,
    recorded_at        timestamptz NOT NULL DEFAULT now(),
    access_log_removed timestamptz  -- when the retention job removed the case's access log
);
