-- The account service's tables, in its own schema `account` (only this service reads or
-- writes them). Enum values are stored as their proto names: readable in SQL, and immune to
-- renumbering.

CREATE TABLE account.accounts (
    id              text PRIMARY KEY,
    display_name    text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    primary_domain  text,
    segment         text NOT NULL,
    lifecycle_stage text NOT NULL,
    owner           text NOT NULL DEFAULT '',
    labels          jsonb NOT NULL DEFAULT '{}',
    create_time     timestamptz NOT NULL DEFAULT now(),
    update_time     timestamptz NOT NULL DEFAULT now(),
    -- Bumped on every change; the etag callers see is derived from it.
    version         bigint NOT NULL DEFAULT 1
);
-- Keyset pagination by name, the default order.
CREATE INDEX accounts_display_name ON account.accounts (display_name, id);

-- Every domain of an account, the primary one included. Not unique across accounts: two
-- accounts claiming a domain make domain resolution ambiguous, which is reported, not guessed.
CREATE TABLE account.account_domains (
    domain     text NOT NULL,
    account_id text NOT NULL REFERENCES account.accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (domain, account_id)
);
CREATE INDEX account_domains_account ON account.account_domains (account_id);

-- An account's id in each external system (support platform, CRM): the key adapters and CRM
-- syncs use. One per system per account, and each (system, id) names one account.
CREATE TABLE account.external_refs (
    system      text NOT NULL,
    external_id text NOT NULL,
    account_id  text NOT NULL REFERENCES account.accounts (id) ON DELETE CASCADE,
    CONSTRAINT external_refs_pkey PRIMARY KEY (system, external_id),
    CONSTRAINT external_refs_one_per_system UNIQUE (account_id, system)
);

CREATE TABLE account.contacts (
    id           text PRIMARY KEY,
    account_id   text NOT NULL REFERENCES account.accounts (id) ON DELETE CASCADE,
    -- Unique across accounts: an email address resolves to exactly one account.
    email        text NOT NULL CONSTRAINT contacts_email_key UNIQUE,
    display_name text NOT NULL DEFAULT '',
    role         text NOT NULL,
    title        text NOT NULL DEFAULT '',
    create_time  timestamptz NOT NULL DEFAULT now(),
    update_time  timestamptz NOT NULL DEFAULT now(),
    version      bigint NOT NULL DEFAULT 1
);
CREATE INDEX contacts_account ON account.contacts (account_id, id);

CREATE TABLE account.contracts (
    id            text PRIMARY KEY,
    account_id    text NOT NULL REFERENCES account.accounts (id) ON DELETE CASCADE,
    arr_minor     bigint NOT NULL CHECK (arr_minor >= 0),
    currency_code text NOT NULL CHECK (currency_code ~ '^[A-Z]{3}$'),
    start_date    date NOT NULL,
    -- The last day of service, inclusive.
    end_date      date NOT NULL CHECK (end_date >= start_date),
    external_system text,
    external_id   text,
    description   text NOT NULL DEFAULT '',
    create_time   timestamptz NOT NULL DEFAULT now(),
    update_time   timestamptz NOT NULL DEFAULT now(),
    version       bigint NOT NULL DEFAULT 1
);
CREATE INDEX contracts_account ON account.contracts (account_id, id);
-- Revenue queries scan contracts overlapping a period.
CREATE INDEX contracts_dates ON account.contracts (currency_code, start_date, end_date);

-- Accounts as the API shows them: with their extra domains, external refs, and ARR and
-- renewal date derived from contracts as of today (UTC). Lists filter and order on it.
CREATE VIEW account.accounts_view AS
SELECT a.*,
       ARRAY(SELECT d.domain FROM account.account_domains d
             WHERE d.account_id = a.id AND d.domain IS DISTINCT FROM a.primary_domain
             ORDER BY d.domain) AS domains,
       ARRAY(SELECT r.system FROM account.external_refs r
             WHERE r.account_id = a.id ORDER BY r.system) AS ref_systems,
       ARRAY(SELECT r.external_id FROM account.external_refs r
             WHERE r.account_id = a.id ORDER BY r.system) AS ref_ids,
       m.arr_minor, m.currency_code, m.renewal_date
FROM account.accounts a
CROSS JOIN LATERAL (SELECT (now() AT TIME ZONE 'UTC')::date AS today) t
LEFT JOIN LATERAL (
    -- NULL without contracts; 0 when none is in service today.
    SELECT CASE WHEN count(*) > 0 THEN COALESCE(sum(c.arr_minor) FILTER (
               WHERE c.start_date <= t.today AND t.today <= c.end_date), 0) END::bigint AS arr_minor,
           -- An account's contracts share one currency (enforced on write).
           min(c.currency_code) AS currency_code,
           COALESCE(min(c.end_date) FILTER (WHERE c.end_date >= t.today), max(c.end_date)) + 1
               AS renewal_date
    FROM account.contracts c
    WHERE c.account_id = a.id
) m ON true;
