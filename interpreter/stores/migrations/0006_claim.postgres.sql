-- PostgreSQL only: the queue that workers share, the index a claim reads
-- runs by, and the claim function. IF NOT EXISTS and OR REPLACE: a store of
-- an earlier version may have an earlier form of them.
CREATE TABLE IF NOT EXISTS flow_queue (
    id {serial}, t TEXT NOT NULL, rank INTEGER NOT NULL, keys TEXT[] NOT NULL, kind TEXT NOT NULL,
    ref TEXT, workflow TEXT, body TEXT, line INTEGER);
CREATE INDEX IF NOT EXISTS flow_queue_order ON flow_queue (t, rank, id);
-- A claim reads the runs of its contacts (stores/batch.py): without this
-- index, the primary key (workflow, contact) finds them by reading every run
-- of the workflows, a cost that grew with the store (measured: 6 ms a claim
-- at 5,000 runs).
CREATE INDEX IF NOT EXISTS flow_runs_by_contact ON flow_runs (contact);

-- flow_claim(most, look): claims up to `most` pieces of queued work for one
-- transaction, looking at the first `look` queued in time order (up to the
-- horizon). A piece is claimed when no earlier piece still queued that this
-- transaction did not claim conflicts with it (interpreter/conflicts.py): the
-- claimer runs its pieces in time order, so conflicting pieces in one claim
-- keep their order. A claimed piece is deleted at once, but only for this
-- transaction: to other workers it stays queued, locked, so they skip it and
-- what conflicts with it waits until this transaction commits; if the
-- transaction fails, it is back. A piece locked by another worker blocks what
-- conflicts with it; a piece that conflicts with everything (`*`) blocks
-- everything after it. Only the pieces claimed are locked: a worker never
-- holds back work it does not do.
--
-- While other workers are at work on the store (each holds the advisory lock
-- WORKING of stores/postgres.py, from its first claim on), a claim takes the
-- work of at most half the senders (`u:` keys) of the pieces it looks at, at
-- least one: a sender's work runs in time order (the daily limit), so a claim
-- of every sender's next pieces would leave the others only the work no
-- sender is part of. Passing a piece over is always safe (its keys are
-- blocked for the rest of the walk), and the first piece a claim can take is
-- taken whatever its senders, so every piece has its turn.
--
-- The window of pieces looked at is read twice, for their senders beside
-- other workers and then piece by piece: read once into an array, all `look`
-- rows are read even when the claim fills after a few (measured alone: 0.82
-- against 0.71 ms a claim; the same beside another worker).
CREATE OR REPLACE FUNCTION flow_claim(most INTEGER, look INTEGER) RETURNS SETOF flow_queue
LANGUAGE plpgsql AS $$
DECLARE
    r flow_queue;
    blocked TEXT[] := '{}';
    others TEXT[] := '{}';  -- senders of the pieces looked at, not yet of this claim
    senders INTEGER := 0;  -- how many senders this claim takes work of
    most_senders INTEGER := look;
    mine TEXT[];
    taken INTEGER := 0;
BEGIN
    IF (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2
          AND classid = hashtext('flowc worker')::oid AND objid = hashtext(current_schema())::oid
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) > 1 THEN
        SELECT coalesce(array_agg(DISTINCT k), '{}') INTO others
          FROM (SELECT keys FROM flow_queue WHERE t <= (SELECT value FROM flow_meta WHERE key = 'horizon')
                ORDER BY t, rank, id LIMIT look) w, unnest(w.keys) k
         WHERE left(k, 2) = 'u:';
        most_senders := greatest(1, cardinality(others) / 2);
    END IF;
    FOR r IN SELECT * FROM flow_queue WHERE t <= (SELECT value FROM flow_meta WHERE key = 'horizon')
              ORDER BY t, rank, id LIMIT look LOOP
        EXIT WHEN '*' = ANY(r.keys) AND blocked <> '{}';
        IF NOT (blocked && r.keys) THEN
            mine := '{}';
            IF r.keys && others THEN
                mine := ARRAY(SELECT unnest(r.keys) INTERSECT SELECT unnest(others));
            END IF;
            IF senders = 0 OR senders + cardinality(mine) <= most_senders THEN
                DELETE FROM flow_queue WHERE id = (SELECT id FROM flow_queue WHERE id = r.id FOR UPDATE SKIP LOCKED);
                IF FOUND THEN
                    RETURN NEXT r;
                    IF mine <> '{}' THEN
                        senders := senders + cardinality(mine);
                        others := ARRAY(SELECT unnest(others) EXCEPT SELECT unnest(mine));
                    END IF;
                    taken := taken + 1;
                    EXIT WHEN taken >= most;
                    CONTINUE;
                END IF;
                EXIT WHEN '*' = ANY(r.keys);
            END IF;
        END IF;
        blocked := blocked || r.keys;
    END LOOP;
END
$$;
