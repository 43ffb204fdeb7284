-- What every projection keeps next to its view rows, in the same transactions.
CREATE TABLE IF NOT EXISTS projection_positions (
    topic       text    NOT NULL,
    "partition" integer NOT NULL,
    "offset"    bigint  NOT NULL,
    PRIMARY KEY (topic, "partition")
);

CREATE TABLE IF NOT EXISTS applied_events (
    event_id   uuid PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);
