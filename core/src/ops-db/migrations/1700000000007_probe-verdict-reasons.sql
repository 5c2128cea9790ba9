-- Up Migration

-- Four verdicts (core/src/probe/verdicts.ts): an outage is `inconclusive`, not a mismatch or an error.
-- Read and write probe runs share this table, so both gain the verdict and the reason code.
ALTER TABLE syncscope.probe_runs DROP CONSTRAINT probe_runs_verdict_check;
ALTER TABLE syncscope.probe_runs ADD CONSTRAINT probe_runs_verdict_check
  CHECK (verdict IN ('consistent', 'mismatch', 'inconclusive', 'error'));

-- Why a run is not consistent: a catalogue code (null when consistent, and for runs stored before).
ALTER TABLE syncscope.probe_runs ADD COLUMN reason_code text
  CHECK (reason_code IS NULL OR reason_code ~ '^SYNCSCOPE_E_[A-Z0-9_]+$');
-- Version 1 reports carried catalogue codes only in `error` (their outages had engine-internal codes).
UPDATE syncscope.probe_runs SET reason_code = report->'error'->>'code'
  WHERE verdict = 'error' AND report->'error'->>'code' ~ '^SYNCSCOPE_E_[A-Z0-9_]+$';

-- Down Migration
ALTER TABLE syncscope.probe_runs DROP COLUMN reason_code;
-- The old check knows no `inconclusive`: such runs read as the `error` they would have been.
UPDATE syncscope.probe_runs SET verdict = 'error' WHERE verdict = 'inconclusive';
ALTER TABLE syncscope.probe_runs DROP CONSTRAINT probe_runs_verdict_check;
ALTER TABLE syncscope.probe_runs ADD CONSTRAINT probe_runs_verdict_check
  CHECK (verdict IN ('consistent', 'mismatch', 'error'));
