-- The kit's tables, created inside each service's own schema (the migration runs with
-- search_path set to it, hence the unqualified names).

-- Transactional outbox: a change is appended in the same transaction as the change itself.
-- Readers order by (txid, seq) and read only below the oldest running transaction id, so an
-- entry that commits late never lands behind a cursor that has moved past it.
CREATE TABLE feed (
    seq         bigint GENERATED ALWAYS AS IDENTITY,
    txid        xid8 NOT NULL DEFAULT pg_current_xact_id(),
    commit_time timestamptz NOT NULL DEFAULT clock_timestamp(),
    account     text NOT NULL,
    payload     bytea NOT NULL,
    PRIMARY KEY (txid, seq)
);
CREATE INDEX feed_commit_time ON feed (commit_time);

-- The newest position pruned by retention: a cursor below it may have missed entries.
CREATE TABLE feed_horizon (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    txid     xid8 NOT NULL,
    seq      bigint NOT NULL
);
INSERT INTO feed_horizon (txid, seq) VALUES ('0'::xid8, 0);

-- Consumers' positions in other services' feeds, committed with the consumer's own effects.
CREATE TABLE feed_cursors (
    consumer    text PRIMARY KEY,
    cursor      text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Accounts waiting to be processed again. A burst of changes for one account bumps its
-- generation but keeps its due time, so the work happens once, within a bounded delay.
CREATE TABLE dirty_accounts (
    account       text PRIMARY KEY,
    generation    bigint NOT NULL DEFAULT 1,
    due_at        timestamptz NOT NULL,
    claimed_until timestamptz
);
CREATE INDEX dirty_accounts_due ON dirty_accounts (due_at);
