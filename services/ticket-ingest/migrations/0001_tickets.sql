-- The ticket-ingest service's tables, in its own schema `ticket` (only this service reads or
-- writes them). Enum values are stored as their proto names: readable in SQL, immune to
-- renumbering.

-- The latest accepted snapshot of every ticket. `snapshot` is the normalized pb.Ticket as
-- ingested (exact to the nanosecond, SLA targets included); the columns beside it are copies
-- of what lists filter and order on, and what account linking keys on.
CREATE TABLE ticket.tickets (
    id                 text PRIMARY KEY,
    source             text NOT NULL,
    source_instance    text NOT NULL,
    external_id        text NOT NULL,
    -- The linked account's id (no foreign key: accounts live in another service).
    account_id         text,
    link_state         text NOT NULL,
    -- The keys linking resolved: account_ref (system, id) and the requester's email.
    ref_system         text,
    ref_id             text,
    requester_email    text,
    status             text NOT NULL,
    priority           text NOT NULL,
    -- Case-folded, so that filters and figures compare categories case-insensitively.
    category           text NOT NULL,
    created_time       timestamptz NOT NULL,
    source_update_time timestamptz NOT NULL,
    deleted            boolean NOT NULL,
    -- SHA-256 of the content without the ordering key: equal hashes = a redelivery.
    content_hash       bytea NOT NULL,
    snapshot           bytea NOT NULL,
    -- REOPENED events observed (the platform's own count may be larger).
    observed_reopens   integer NOT NULL DEFAULT 0,
    create_time        timestamptz NOT NULL DEFAULT now(),
    update_time        timestamptz NOT NULL DEFAULT now(),
    ingest_time        timestamptz NOT NULL DEFAULT now(),
    -- Bumped on every change; the etag callers see is derived from it.
    version            bigint NOT NULL DEFAULT 1,
    CONSTRAINT tickets_source_key UNIQUE (source, source_instance, external_id)
);
-- An account's tickets: summaries, and lists by account in either order.
CREATE INDEX tickets_account_created ON ticket.tickets (account_id, created_time DESC, id DESC);
CREATE INDEX tickets_created ON ticket.tickets (created_time DESC, id DESC);
CREATE INDEX tickets_updated ON ticket.tickets (source_update_time DESC, id DESC);
-- Unlinked tickets wait here for an account to appear.
CREATE INDEX tickets_unlinked ON ticket.tickets (created_time DESC, id DESC)
    WHERE link_state IN ('LINK_STATE_UNLINKED', 'LINK_STATE_AMBIGUOUS');
-- Re-linking after an account change finds the tickets whose keys it touches.
CREATE INDEX tickets_requester_email ON ticket.tickets (requester_email);
CREATE INDEX tickets_requester_domain ON ticket.tickets (split_part(requester_email, '@', 2));
CREATE INDEX tickets_account_ref ON ticket.tickets (ref_system, ref_id);

-- Lifecycle events derived at ingest, never rewritten. `seq` orders them (by ingest, then
-- derivation order) and names them: tickets/{ticket}/events/{seq}.
CREATE TABLE ticket.ticket_events (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id   text NOT NULL REFERENCES ticket.tickets (id) ON DELETE CASCADE,
    kind        text NOT NULL,
    event_time  timestamptz NOT NULL,
    from_value  text NOT NULL,
    to_value    text NOT NULL,
    ingest_time timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ticket_events_ticket ON ticket.ticket_events (ticket_id, seq);

-- SLA policies. `body` is the pb.SlaPolicy's writable fields; `sources` is a copy for the
-- one-policy-per-source rule.
CREATE TABLE ticket.sla_policies (
    id          text PRIMARY KEY,
    body        bytea NOT NULL,
    sources     text[] NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    update_time timestamptz NOT NULL DEFAULT now(),
    version     bigint NOT NULL DEFAULT 1
);

-- Accounts as last seen on the account feed: their segment, for KPI filters and breakdowns.
CREATE TABLE ticket.accounts (
    id      text PRIMARY KEY,
    segment text NOT NULL
);

-- Bumped by every re-linking pass. An ingest that resolved accounts under an older
-- generation resolves again (its cache may predate the account change).
CREATE TABLE ticket.link_generation (
    only_row   boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    generation bigint NOT NULL
);
INSERT INTO ticket.link_generation (generation) VALUES (0);
