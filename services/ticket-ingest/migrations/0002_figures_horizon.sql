-- How far into the past a ticket can still bear on support figures, so that summaries and
-- KPIs read only the tickets that can count in their windows instead of every ticket an
-- account ever had.
--
-- `latest_time` is the latest platform time any snapshot or lifecycle event of the ticket
-- carried (created, updated, responded, resolved, closed, reopened, rated, SLA due and
-- completed, the source's update time). It only moves forward. Rows stored before this
-- migration are backfilled from what SQL can see (their update and creation times and their
-- events); the next ingest of each ticket adds the times inside its snapshot.
ALTER TABLE ticket.tickets ADD COLUMN latest_time timestamptz;
UPDATE ticket.tickets t
SET latest_time = GREATEST(t.source_update_time, t.created_time,
                           (SELECT max(e.event_time) FROM ticket.ticket_events e
                            WHERE e.ticket_id = t.id));
ALTER TABLE ticket.tickets ALTER COLUMN latest_time SET NOT NULL;

-- A ticket open now can count in any window (its backlog); one SOLVED or CLOSED now, with
-- every time it carried before a window's start, counts in none. Windows start at or after
-- this instant to see the ticket.
ALTER TABLE ticket.tickets ADD COLUMN figures_until timestamptz GENERATED ALWAYS AS (
    CASE WHEN status IN ('TICKET_STATUS_SOLVED', 'TICKET_STATUS_CLOSED') THEN latest_time
         ELSE 'infinity'::timestamptz END) STORED;
CREATE INDEX tickets_account_figures ON ticket.tickets (account_id, figures_until);
-- An account's newest ingest, for its summary's `data_time`.
CREATE INDEX tickets_account_ingest ON ticket.tickets (account_id, ingest_time DESC);
