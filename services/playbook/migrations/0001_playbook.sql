-- The playbook service's tables, in its own schema `playbook`. Names are qualified because
-- service migrations run without a search_path. Messages are stored as their exact protobuf
-- encoding (bytea) next to the columns that queries filter, sort and constrain on. The kit's
-- own tables (feed, requests, feed_cursors, dirty_accounts) are created by the kit.

-- Every version of every playbook; versions are immutable. `enabled` and the etag are
-- operational state, kept on `playbooks`, and overlaid when a version is read.
CREATE TABLE playbook.playbook_versions (
    playbook_id       text NOT NULL,
    version           integer NOT NULL,
    body              bytea NOT NULL,   -- steward.playbook.v1.Playbook, defaults applied
    update_time       timestamptz NOT NULL,
    PRIMARY KEY (playbook_id, version)
);

-- The latest version of each playbook and its state. A deleted playbook keeps its row so
-- that its id is never reused and a deleted shipped default is never seeded again.
CREATE TABLE playbook.playbooks (
    playbook_id       text PRIMARY KEY,
    version           integer NOT NULL,
    enabled           boolean NOT NULL,
    deleted           boolean NOT NULL DEFAULT false,
    -- Bumped by every version and every enable/disable: the etag.
    revision          bigint NOT NULL,
    -- The latest version's trigger kinds (TriggerKind numbers), for ListPlaybooks' filter.
    trigger_kinds     integer[] NOT NULL,
    create_time       timestamptz NOT NULL,
    -- When `enabled` last changed (Playbook.update_time is the later of this and the
    -- version's update_time).
    state_time        timestamptz NOT NULL,
    -- Deferred: a create writes this row first, so that a taken id fails before anything.
    FOREIGN KEY (playbook_id, version) REFERENCES playbook.playbook_versions
        DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX playbooks_enabled ON playbook.playbooks (playbook_id) WHERE enabled AND NOT deleted;

-- One row per run. The run is self-contained: `body` is the whole PlaybookRun and
-- `definition` the playbook version it follows (its step templates render later steps), so
-- that updating or deleting the playbook never changes it.
CREATE TABLE playbook.runs (
    run_id            uuid PRIMARY KEY,
    account           text NOT NULL,             -- accounts/{id}
    playbook_id       text NOT NULL,
    playbook_version  integer NOT NULL,
    state             integer NOT NULL,          -- RunState
    body              bytea NOT NULL,            -- steward.playbook.v1.PlaybookRun
    definition        bytea NOT NULL,            -- steward.playbook.v1.Playbook (the version)
    -- Bumped by every change of the run (not by lease claims or extensions): the etag.
    revision          bigint NOT NULL,
    create_time       timestamptz NOT NULL,
    end_time          timestamptz,               -- the cooldown counts from here
    -- The ACTIVE step when it is a TASK: whom it is for and when it is due (list filters).
    assignee          text,
    assignee_team     text,
    due_time          timestamptz,
    -- The ACTIVE step when it is a WAIT: when it ends by itself.
    wake_time         timestamptz,
    -- Automatic runs fired by a band or stage entry: that entry (each fires at most once).
    entry_kind        integer,                   -- TriggerKind
    entry_time        timestamptz
);
-- At most one ACTIVE run per (account, playbook), whatever the version: the dedupe rule,
-- enforced here so that concurrent starts (manual or automatic, any replica) cannot race.
CREATE UNIQUE INDEX runs_one_active ON playbook.runs (account, playbook_id) WHERE state = 1;
-- ListPlaybookRuns: newest first, then by id (the keyset of its page tokens).
CREATE INDEX runs_newest ON playbook.runs (create_time DESC, run_id DESC);
-- The gate: the latest end and the fired entries of one (account, playbook).
CREATE INDEX runs_by_pair ON playbook.runs (account, playbook_id, end_time);
CREATE INDEX runs_by_assignee ON playbook.runs (assignee) WHERE state = 1;
CREATE INDEX runs_overdue ON playbook.runs (due_time) WHERE state = 1;
-- Waits that end by themselves.
CREATE INDEX runs_waking ON playbook.runs (wake_time) WHERE state = 1;

-- The lease queue: one row per automated (EMAIL or ACTION) step that has become ACTIVE.
-- The row outlives the step (active = false) so that a repeated Complete/Fail with the
-- last token is recognised. Mirrors the step's lease fields in the run body; the token
-- lives only here (only the claiming worker ever sees it).
CREATE TABLE playbook.step_leases (
    run_id            uuid NOT NULL REFERENCES playbook.runs ON DELETE CASCADE,
    step_id           text NOT NULL,
    action_type       text NOT NULL,             -- `email.send` for EMAIL steps
    active            boolean NOT NULL,
    -- When the step may be claimed: its activation, or its next attempt after a failure.
    ready_time        timestamptz NOT NULL,
    attempts          integer NOT NULL DEFAULT 0,
    max_attempts      integer NOT NULL,
    lease_token       uuid,                      -- valid until the step ends or is claimed again
    lease_holder      text,
    lease_expire_time timestamptz,
    -- The current token's attempt was reported failed and a retry scheduled: a repeated
    -- FailRunStep with that token answers unchanged.
    reported          boolean NOT NULL DEFAULT false,
    -- Every template variable's value at the step's activation (ClaimedStep.variables).
    variable_names    text[] NOT NULL,
    variable_values   text[] NOT NULL,
    PRIMARY KEY (run_id, step_id)
);
-- ClaimRunSteps: ready steps of the given types, oldest ready first.
CREATE INDEX step_leases_ready ON playbook.step_leases (action_type, ready_time) WHERE active;
-- The expiry sweep: leases whose last attempt ran out.
CREATE INDEX step_leases_expiry ON playbook.step_leases (lease_expire_time) WHERE active;

-- What the feeds said about each account, for the triggers that need more than current
-- values: when the account entered its current band (health feed) and lifecycle stage
-- (account feed).
CREATE TABLE playbook.signals (
    account           text PRIMARY KEY,
    band              integer NOT NULL DEFAULT 0,    -- playbook.v1 HealthBand number
    band_entered      timestamptz,
    stage             integer NOT NULL DEFAULT 0,    -- playbook.v1 LifecycleStage number
    stage_entered     timestamptz,
    deleted           boolean NOT NULL DEFAULT false
);
