-- The cases this service has heard of from intake's topic, with who is responsible for each and
-- where: what its commands are authorised against. One row per case, updated in place (no copy
-- events in the service's own stream); intake_version keeps a redelivered event from undoing a
-- later one.
CREATE TABLE IF NOT EXISTS known_cases (
    case_id        uuid    PRIMARY KEY,
    responsible    text    NOT NULL,
    site           text    NOT NULL,
    erased         boolean NOT NULL DEFAULT false,
    intake_version integer NOT NULL
);
