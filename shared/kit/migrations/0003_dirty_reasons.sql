-- Why an account is waiting: a bit set per cause (the consumer defines the bits), gathered
-- while the account waits and handed to the worker that claims it.
ALTER TABLE dirty_accounts ADD COLUMN reasons integer NOT NULL DEFAULT 0;
