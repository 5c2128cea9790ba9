-- Up Migration

-- The audit log becomes a hash chain, so an edit, deletion or reordering made even by a superuser (who can
-- disable the append-only triggers) is detectable: `syncscope audit verify` recomputes every hash.
-- seq is the entry's place in the chain, gapless (ids come from a sequence and skip values when a
-- transaction rolls back, and concurrent inserts take ids in another order than they take chain places).
ALTER TABLE syncscope.audit_log ADD COLUMN seq bigint;
ALTER TABLE syncscope.audit_log ADD COLUMN prev_hash bytea;
ALTER TABLE syncscope.audit_log ADD COLUMN hash bytea;

-- The chain's head, one row: every insert locks it, so chain places are handed out one at a time, and a
-- transaction in REPEATABLE READ that raced another fails instead of forking the chain.
CREATE TABLE syncscope.audit_chain_head (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  seq bigint NOT NULL,
  hash bytea NOT NULL
);

-- The canonical encoding hashed for one entry; audit-chain.ts builds the identical text. A JSON array of
-- strings or null, no spaces: seq, id, at (UTC, microseconds, "YYYY-MM-DDTHH:MM:SS.ffffffZ"), actor,
-- action, target, subject_user, reason, details (its jsonb text), prev_hash (lower-case hex).
CREATE FUNCTION syncscope.audit_entry_encoding(
  seq bigint, id bigint, at timestamptz, actor text, action text, target text, subject_user text,
  reason text, details jsonb, prev_hash bytea
) RETURNS text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT '[' || concat_ws(',',
    to_json(seq::text)::text,
    to_json(id::text)::text,
    to_json(to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text,
    coalesce(to_json(actor)::text, 'null'),
    coalesce(to_json(action)::text, 'null'),
    coalesce(to_json(target)::text, 'null'),
    coalesce(to_json(subject_user)::text, 'null'),
    coalesce(to_json(reason)::text, 'null'),
    coalesce(to_json(details::text)::text, 'null'),
    to_json(encode(prev_hash, 'hex'))::text
  ) || ']'
$$;

CREATE FUNCTION syncscope.audit_entry_hash(e syncscope.audit_log) RETURNS bytea LANGUAGE sql STABLE
  SET search_path = pg_catalog, pg_temp AS $$
  SELECT sha256(convert_to(syncscope.audit_entry_encoding(
    e.seq, e.id, e.at, e.actor, e.action, e.target, e.subject_user, e.reason, e.details, e.prev_hash
  ), 'UTF8'))
$$;

-- Existing entries are chained in id order from the genesis hash (32 zero bytes).
DO $$
DECLARE
  entry syncscope.audit_log;
  place bigint := 0;
  previous bytea := '\x0000000000000000000000000000000000000000000000000000000000000000';
BEGIN
  ALTER TABLE syncscope.audit_log DISABLE TRIGGER audit_log_no_update_or_delete;
  FOR entry IN SELECT * FROM syncscope.audit_log ORDER BY id LOOP
    place := place + 1;
    entry.seq := place;
    entry.prev_hash := previous;
    previous := syncscope.audit_entry_hash(entry);
    UPDATE syncscope.audit_log SET seq = place, prev_hash = entry.prev_hash, hash = previous WHERE id = entry.id;
  END LOOP;
  ALTER TABLE syncscope.audit_log ENABLE TRIGGER audit_log_no_update_or_delete;
  INSERT INTO syncscope.audit_chain_head (seq, hash) VALUES (place, previous);
END $$;

ALTER TABLE syncscope.audit_log ALTER COLUMN seq SET NOT NULL;
ALTER TABLE syncscope.audit_log ALTER COLUMN prev_hash SET NOT NULL;
ALTER TABLE syncscope.audit_log ALTER COLUMN hash SET NOT NULL;
ALTER TABLE syncscope.audit_log ADD CONSTRAINT audit_log_seq_unique UNIQUE (seq);

-- Whatever a client sends for seq, prev_hash or hash (and at) is overwritten here. SECURITY DEFINER so
-- the head row needs no grant to the app roles; it runs as the tables' owner.
CREATE FUNCTION syncscope.audit_log_chain() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  head syncscope.audit_chain_head;
BEGIN
  SELECT * INTO STRICT head FROM syncscope.audit_chain_head FOR UPDATE;
  NEW.at := now();
  NEW.seq := head.seq + 1;
  NEW.prev_hash := head.hash;
  NEW.hash := syncscope.audit_entry_hash(NEW);
  UPDATE syncscope.audit_chain_head SET seq = NEW.seq, hash = NEW.hash;
  RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION syncscope.audit_log_chain() FROM PUBLIC;
CREATE TRIGGER audit_log_chain BEFORE INSERT ON syncscope.audit_log
  FOR EACH ROW EXECUTE FUNCTION syncscope.audit_log_chain();

-- Down Migration
DROP TRIGGER audit_log_chain ON syncscope.audit_log;
DROP FUNCTION syncscope.audit_log_chain();
ALTER TABLE syncscope.audit_log DROP CONSTRAINT audit_log_seq_unique;
DROP FUNCTION syncscope.audit_entry_hash(syncscope.audit_log);
DROP FUNCTION syncscope.audit_entry_encoding(bigint, bigint, timestamptz, text, text, text, text, text, jsonb, bytea);
DROP TABLE syncscope.audit_chain_head;
ALTER TABLE syncscope.audit_log DROP COLUMN hash;
ALTER TABLE syncscope.audit_log DROP COLUMN prev_hash;
ALTER TABLE syncscope.audit_log DROP COLUMN seq;
