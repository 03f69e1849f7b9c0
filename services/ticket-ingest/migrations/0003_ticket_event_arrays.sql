-- Each ticket carries a copy of its lifecycle events (kind, time, new value; in `seq` order)
-- beside its snapshot, so that support figures read one row per ticket instead of joining
-- and grouping `ticket_events` (which stays the record ListTicketEvents pages through).
-- Written in the same statement as the events themselves, appended, never rewritten.
ALTER TABLE ticket.tickets
    ADD COLUMN event_kinds text[] NOT NULL DEFAULT '{}',
    ADD COLUMN event_times timestamptz[] NOT NULL DEFAULT '{}',
    ADD COLUMN event_tos   text[] NOT NULL DEFAULT '{}';
UPDATE ticket.tickets t
SET (event_kinds, event_times, event_tos) = (e.kinds, e.times, e.tos)
FROM (SELECT ticket_id, array_agg(kind ORDER BY seq) AS kinds,
             array_agg(event_time ORDER BY seq) AS times, array_agg(to_value ORDER BY seq) AS tos
      FROM ticket.ticket_events GROUP BY ticket_id) e
WHERE e.ticket_id = t.id;
