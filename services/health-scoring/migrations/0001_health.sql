-- The health-scoring service's tables, in its own schema `health`. Messages are stored as their exact protobuf encoding (bytea) next to
-- the columns queries filter and sort on.

-- Every version of every scorecard; versions are immutable.
CREATE TABLE health.scorecard_versions (
    scorecard_id      text NOT NULL,
    version           integer NOT NULL,
    body              bytea NOT NULL,   -- steward.health.v1.Scorecard, output fields included
    update_time       timestamptz NOT NULL,
    PRIMARY KEY (scorecard_id, version)
);

-- The latest version of each scorecard, with what assignment needs.
CREATE TABLE health.scorecards (
    scorecard_id      text PRIMARY KEY,
    version           integer NOT NULL,
    is_default        boolean NOT NULL,
    segments          integer[] NOT NULL,
    stages            integer[] NOT NULL,
    create_time       timestamptz NOT NULL,
    FOREIGN KEY (scorecard_id, version) REFERENCES health.scorecard_versions
);
-- Exactly one default at any time (at most one enforced here; the API keeps one).
CREATE UNIQUE INDEX scorecards_one_default ON health.scorecards (is_default) WHERE is_default;

-- Accounts as last received from the account feed.
CREATE TABLE health.accounts (
    account           text PRIMARY KEY,          -- accounts/{id}
    body              bytea NOT NULL,            -- steward.account.v1.Account
    segment           integer NOT NULL,          -- health.v1 Segment number
    stage             integer NOT NULL,          -- health.v1 LifecycleStage number
    owner             text NOT NULL,
    seen_at           timestamptz NOT NULL       -- commit time of the newest change applied
);

-- Each account's ARR as the feed reported it over time, for ARR trends.
CREATE TABLE health.arr_history (
    account           text NOT NULL,
    valid_from        timestamptz NOT NULL,
    arr_minor         bigint,                    -- NULL: no ARR
    PRIMARY KEY (account, valid_from)
);

-- Custom measurements.
CREATE TABLE health.measurements (
    account           text NOT NULL,
    key               text NOT NULL,
    observe_time      timestamptz NOT NULL,
    value             double precision NOT NULL,
    unit              text NOT NULL,
    source            text NOT NULL,
    record_time       timestamptz NOT NULL,
    PRIMARY KEY (account, key, observe_time)
);
CREATE INDEX measurements_by_time ON health.measurements (account, observe_time DESC, key);

-- The support summaries each account's last score was computed from, by window, so that
-- previews and explanations can use the same inputs.
CREATE TABLE health.support_inputs (
    account           text NOT NULL,
    window_secs       bigint NOT NULL,
    body              bytea NOT NULL,            -- steward.ticket.v1.SupportSummary
    PRIMARY KEY (account, window_secs)
);

-- The current score of each scored account.
CREATE TABLE health.scores (
    account           text PRIMARY KEY,
    body              bytea NOT NULL,            -- steward.health.v1.HealthScore
    score             double precision,          -- NULL: no component had usable data
    band              integer NOT NULL,
    scorecard_id      text NOT NULL,
    scorecard_version integer NOT NULL,
    compute_time      timestamptz NOT NULL,
    evaluate_time     timestamptz NOT NULL,
    -- When the computation that wrote this row started reading its inputs: a computation
    -- that started earlier never overwrites it.
    inputs_time       timestamptz NOT NULL
);
CREATE INDEX scores_worst_first ON health.scores (score ASC NULLS LAST, account);
CREATE INDEX scores_by_scorecard ON health.scores (scorecard_id);
CREATE INDEX scores_by_evaluate_time ON health.scores (evaluate_time);

-- Every score change (the scores a feed entry announced), for history and explanations.
CREATE TABLE health.score_history (
    account           text NOT NULL,
    compute_time      timestamptz NOT NULL,
    seq               bigint GENERATED ALWAYS AS IDENTITY,
    body              bytea NOT NULL,            -- steward.health.v1.HealthScore
    score             double precision,
    band              integer NOT NULL,
    scorecard_id      text NOT NULL,
    scorecard_version integer NOT NULL,
    PRIMARY KEY (account, compute_time, seq)
);

-- Background re-scoring operations and the accounts each still has to do.
CREATE TABLE health.rescore_operations (
    id                uuid PRIMARY KEY,
    cause             integer NOT NULL,          -- RescoreCause
    scorecard         text NOT NULL,             -- scorecards/{id} or empty
    scorecard_version integer NOT NULL,
    request           bytea,                     -- RescoreAccountsRequest (REQUESTED only)
    requested_by      text NOT NULL,
    state             integer NOT NULL,          -- RescoreState
    total_count       integer NOT NULL DEFAULT 0,
    done_count        integer NOT NULL DEFAULT 0,
    failed_count      integer NOT NULL DEFAULT 0,
    changed_count     integer NOT NULL DEFAULT 0,
    failure_accounts  text[] NOT NULL DEFAULT '{}',   -- the first 10 failures
    failure_messages  text[] NOT NULL DEFAULT '{}',
    create_time       timestamptz NOT NULL,
    start_time        timestamptz,
    end_time          timestamptz
);
CREATE INDEX rescore_operations_newest ON health.rescore_operations (create_time DESC, id DESC);
CREATE INDEX rescore_operations_open ON health.rescore_operations (create_time) WHERE state IN (1, 2);

CREATE TABLE health.rescore_items (
    operation         uuid NOT NULL REFERENCES health.rescore_operations ON DELETE CASCADE,
    account           text NOT NULL,
    attempts          integer NOT NULL DEFAULT 0,
    claimed_until     timestamptz,               -- leased to a worker until then
    PRIMARY KEY (operation, account)
);
