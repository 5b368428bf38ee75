-- @sguild/prisma-fragment: the consumer's reads planned the same way whatever the statistics say.
-- dispatcher_events_after(type, after, limit)  the next `limit` events of `type` past position `after`, in position order.
-- dispatcher_sequence(max_rows)                 now also planned by its indexes only.
--
-- Why: a backlog is usually analyzed before the sequencer has numbered it (a consumer that was
-- down while producers went on), so the statistics say every position is NULL. The planner then
-- read each batch of 50 with a bitmap scan of the whole remaining backlog and a sort (quadratic
-- in the backlog: 10,000 events drained at 5,200/s instead of 14,900/s), and the sequencer's
-- "anything to number?" probe scanned the whole table on every cycle (13 ms at 20,000 events).
-- With sorts and bitmap/sequential scans disabled inside these functions, the only plans left
-- walk dispatcher_event_type_position and dispatcher_event_unsequenced in order and stop early.
CREATE FUNCTION __SCHEMA__."dispatcher_events_after"(p_event_type TEXT, p_after BIGINT, p_limit INTEGER)
RETURNS SETOF __SCHEMA__."dispatcher_event" LANGUAGE sql STABLE
SET enable_sort = off SET enable_bitmapscan = off SET enable_seqscan = off
AS $$
    SELECT * FROM __SCHEMA__."dispatcher_event"
    WHERE "event_type" = p_event_type AND "position" > p_after
    ORDER BY "position" LIMIT p_limit
$$;

ALTER FUNCTION __SCHEMA__."dispatcher_sequence"(INTEGER) SET enable_bitmapscan = off;
ALTER FUNCTION __SCHEMA__."dispatcher_sequence"(INTEGER) SET enable_seqscan = off;
