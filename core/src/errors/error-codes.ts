/**
 * Every SyncScope error code, with its cause and fix. Codes are stable: tooling and docs key on them.
 * Format: SYNCSCOPE_E_<AREA>_<WHAT>. `docs/errors.md` is generated from this table (npm run docs:errors).
 */
export const ERROR_CODES = {
  SYNCSCOPE_E_CONFIG_INVALID: {
    status: 500,
    description: 'A configuration value is missing or invalid. The message names the key; fix it and restart.'
  },
  SYNCSCOPE_E_PORT_IN_USE: {
    status: 500,
    description:
      'A port SyncScope wants to listen on is taken. Stop the other program or choose another port with the environment variable named in the message.'
  },
  SYNCSCOPE_E_PG_DATA_VERSION: {
    status: 500,
    description:
      'The embedded Postgres data folder was created by another Postgres major version. Move it away (or delete it to start fresh) and start again.'
  },
  SYNCSCOPE_E_PG_DATA_IN_USE: {
    status: 500,
    description:
      'Another running Postgres owns the embedded data folder. Stop that process (pid in the message) and start again.'
  },
  SYNCSCOPE_E_PG_START: {
    status: 500,
    description: 'The embedded Postgres failed to start. Its log lines are in the message.'
  },
  SYNCSCOPE_E_PG_UNREACHABLE: {
    status: 503,
    description:
      'A Postgres database could not be reached. Check the URL, that the server runs, and the credentials.'
  },
  SYNCSCOPE_E_AUTH_REQUIRED: {
    status: 401,
    description: 'The request carries no valid session. Sign in first.'
  },
  SYNCSCOPE_E_METRICS_AUTH: {
    status: 401,
    description:
      "The console's /metrics needs the bearer token set in SYNCSCOPE_METRICS_TOKEN. Give the scraper that token (Prometheus: authorization.credentials or credentials_file)."
  },
  SYNCSCOPE_E_AUTH_FORBIDDEN: {
    status: 403,
    description: 'The signed-in user may not do this.'
  },
  SYNCSCOPE_E_AUTH_TOKEN_AUDIENCE: {
    status: 401,
    description:
      'The token was issued for another audience (for example a SyncScope probe token sent to an app backend). Use a token issued for this service.'
  },
  SYNCSCOPE_E_REQUEST_INVALID: {
    status: 400,
    description: 'The request body or parameters are malformed. The message names the field.'
  },
  SYNCSCOPE_E_REQUEST_TOO_LARGE: {
    status: 413,
    description: 'The request body is larger than the limit. Send smaller batches.'
  },
  SYNCSCOPE_E_SYNC_RULES_INVALID: {
    status: 500,
    description:
      'The sync rules could not be parsed or refer to unknown tables. The message gives the line and reason.'
  },
  SYNCSCOPE_E_PROBE_SOURCE_TIMEOUT: {
    status: 504,
    description:
      "Reading the source Postgres for a probe's expected state took longer than the statement timeout: a table the rules read is large and the rule's filter could not be pushed down, or another session holds a lock on it. Raise the probe's statement timeout, add an index on the column the rule compares, or probe when the lock is released."
  },
  SYNCSCOPE_E_REPLICATION_SETUP: {
    status: 500,
    description:
      'Logical replication from the source Postgres failed. Check wal_level=logical, the publication "powersync" and that the role has REPLICATION.'
  },
  SYNCSCOPE_E_SERVICE_UNREACHABLE: {
    status: 503,
    description:
      'Probe inconclusive: the sync service could not be reached (connection refused, reset or timed out). Check that the service is running and that sync_url in the targets file points at it; the probe is retried.'
  },
  SYNCSCOPE_E_SERVICE_REFUSED_TOKEN: {
    status: 503,
    description:
      "Probe inconclusive: the sync service refused the probe token (the service's PSYNC_S21xx code is in the message). Check that the target's probe kid is among the keys the service trusts (client_auth.jwks_uri or keys) and that the probe audience is in client_auth.audience."
  },
  SYNCSCOPE_E_SERVICE_INITIAL_REPLICATION: {
    status: 503,
    description:
      'Probe inconclusive: the sync service is still copying its initial snapshot of the source, so users cannot sync yet. Wait for initial replication to finish (the admin diagnostics show initial_replication_done); the probe is retried.'
  },
  SYNCSCOPE_E_SERVICE_REPROCESSING: {
    status: 503,
    description:
      'Probe inconclusive: the sync service is reprocessing newly deployed sync rules (a `next` version in its admin API), and clients switch to them when it is done. Probe again after the switch; the report names both versions.'
  },
  SYNCSCOPE_E_STREAM_UNSTABLE: {
    status: 503,
    description:
      "Probe inconclusive: the probe's sync stream kept failing (cut, reset or stalled) and never completed a checkpoint. Check the network between the agent and the service (proxies, load balancer idle timeouts) and the service's logs; the probe is retried."
  },
  SYNCSCOPE_E_SOURCE_SESSION_LOST: {
    status: 503,
    description:
      "Probe inconclusive: the probe's read-only session on the source Postgres ended before its snapshot was read (terminated, restarted, failover or network). Check the source's log for the reason; the probe is retried."
  },
  SYNCSCOPE_E_BUCKET_LIMIT: {
    status: 409,
    description:
      "Probe inconclusive: the sync service refused the user's sync with PSYNC_S2305 (more buckets, or parameter query results, than its limit, 1,000 by default). The user's clients cannot sync at all. The message names the rule that gives most buckets; narrow it, or raise api.parameters.max_buckets_per_connection in the service config."
  },
  SYNCSCOPE_E_PROBE_DEADLINE: {
    status: 504,
    description:
      'Probe inconclusive: the probe did not finish within its deadline (the phase it was in is in the message). Raise the deadline for very large users, or look at why that phase is slow.'
  },
  SYNCSCOPE_E_JOB_LEASE_LOST: {
    status: 409,
    description:
      "Probe inconclusive: the agent lost its lease on the job (it was reclaimed after a missed heartbeat or its deadline), so it stopped and stored nothing. The job's new owner runs it; nothing to do unless it repeats, then check the agent's health."
  },
  SYNCSCOPE_E_USERS_QUERY_INVALID: {
    status: 400,
    description:
      "A target's `schedule.users_query` cannot list its users: a syntax error, no `user_id` column, a table the sync rules do not read, or a table the source role may not read. The message names which and quotes Postgres's error; fix the query in the targets file (it must return one row per user with a text-castable `user_id` column, e.g. `SELECT id AS user_id FROM users`)."
  },
  SYNCSCOPE_E_USERS_QUERY_TIMEOUT: {
    status: 504,
    description:
      "A page of a target's `schedule.users_query` took longer than its statement timeout. The sweep reads users a page at a time ordered by `user_id`: make the query cheap to resume (an index on the id column, no sort over a join), or raise `schedule.users_query_timeout_seconds`."
  },
  SYNCSCOPE_E_ROWS_DIFFER: {
    status: 409,
    description:
      'Mismatch: rows the user holds differ from what the source and the rules imply, and the differences persisted through the settle window. The report lists each row with its bucket, rule and likely cause; trace one with `syncscope explain`.'
  },
  SYNCSCOPE_E_BUCKETS_DIFFER: {
    status: 409,
    description:
      "Mismatch: the buckets the user holds differ from those the rules give them. The report names each bucket and the parameter query behind it; check the user's parameter rows and the service's parameter index."
  },
  SYNCSCOPE_E_CHECKSUM_FAILURE_LOOP: {
    status: 409,
    description:
      "Mismatch: the client keeps failing a bucket's checksum: the service's checkpoint checksums do not match the operations it sends (a service storage fault). Compact or reprocess the service's storage for the buckets named."
  },
  SYNCSCOPE_E_WRITE_CHECKPOINT_NOT_ECHOED: {
    status: 409,
    description:
      "Mismatch: the service never echoed a write checkpoint, so clients with local writes stay pending. Check the service's replication (it acknowledges write checkpoints through the WAL) and its logs."
  },
  SYNCSCOPE_E_REPLICATION_STALLED: {
    status: 409,
    description:
      "Mismatch: the user's rows are stale because the service's replication has stalled (the report gives the lag and the time of the last checkpoint from the admin diagnostics, and the slot's lag). Check the replication slot and the service's replication logs."
  },
  SYNCSCOPE_E_WRITE_NOT_APPLIED: {
    status: 409,
    description:
      "Mismatch (write probe): the probe's write never reached the source Postgres: the app backend rejected it, kept rejecting it as retryable, or accepted it without applying it. The report names the leg and the backend's answer; check the backend's upload handler and its permissions for the write probe's user."
  },
  SYNCSCOPE_E_FRESHNESS_MARKER_FAILED: {
    status: 503,
    description:
      "The canaries' freshness marker could not be written through the target's write path: the app backend was unreachable or refused the upload (the message has its answer). Check `upload_url`, the write probe's upload credential and that the backend lets the write probe's user write `write_probe.table` with `write_probe.values`."
  },
  SYNCSCOPE_E_INTERNAL_ERROR: {
    status: 500,
    description: 'An unexpected error. The server log has the details; please report it with the log lines.'
  },
  SYNCSCOPE_E_FAULT_UNKNOWN: {
    status: 400,
    description: 'The fault-injection request names an unknown fault or has invalid parameters.'
  },
  SYNCSCOPE_E_TARGETS_INVALID: {
    status: 500,
    description:
      'The probe targets file is invalid: the message names the file, the key path and what to change (secrets must come from `!env NAME`).'
  },
  SYNCSCOPE_E_TARGET_UNKNOWN: {
    status: 404,
    description:
      'No probe target has this name in the targets file. Use one of the names the message lists, or add the target to the file it names.'
  },
  SYNCSCOPE_E_PROBE_TOKEN_INVALID: {
    status: 400,
    description:
      'A probe token was refused before signing: its lifetime is above 300 s, or its claims try to override sub, aud, iss, iat, exp, jti or syncscope_probe.'
  },
  SYNCSCOPE_E_PROBE_ACTOR_REQUIRED: {
    status: 400,
    description:
      'A probe token impersonates a user, so it is minted only for a named actor (who asks), written to the audit log first. The CLI uses `cli:<OS user>` or --actor; the agent API needs "actor" in the body.'
  },
  SYNCSCOPE_E_PROBE_REASON_REQUIRED: {
    status: 400,
    description:
      'A probe token is minted only with a reason, written to the audit log first. Pass --reason TEXT to the CLI (optional only for the demo target), or "reason" in the agent API body.'
  },
  SYNCSCOPE_E_PROBE_AUDIT_UNAVAILABLE: {
    status: 503,
    description:
      "There is no ops database to audit the probe token in, and SyncScope does not impersonate a user unaudited. Set SYNCSCOPE_OPS_DATABASE_URL (or the agent's --ops-db) to SyncScope's ops database."
  },
  SYNCSCOPE_E_PROBE_AUDIT_FAILED: {
    status: 503,
    description:
      'The audit entry for a probe token could not be written, so no token was minted. Check that the ops database (SYNCSCOPE_OPS_DATABASE_URL) is reachable and migrated.'
  },
  SYNCSCOPE_E_AGENT_HOST_REFUSED: {
    status: 421,
    description:
      'The agent answers only requests whose Host header names it (its bind address, localhost with its port, or a name given with --allowed-host / SYNCSCOPE_AGENT_ALLOWED_HOSTS), so a web page cannot reach it by DNS rebinding. Call it by one of those names, or add the name with --allowed-host.'
  },
  SYNCSCOPE_E_TABLE_NOT_IN_RULES: {
    status: 403,
    description:
      "The table (or a column of it) is not one the target's sync rules read, so SyncScope will not read it: row trace, explain, the inspector's comparison and user search only touch the rules' tables and columns. Name a table the message lists (as `table` or `schema.table`, exactly as in the catalog), or add a rule that reads it."
  },
  SYNCSCOPE_E_DRY_RUN_INPUT: {
    status: 400,
    description:
      "A dry run of draft sync rules (`syncscope rules diff`, the console's dry-run page) was given input it cannot use: a draft file that cannot be read, both `--users` and `--sample`, a sample size that is not a positive whole number, a users query that fails (Postgres's error is quoted), or a target with no way to list its users. The message names which and what to pass instead."
  },
  SYNCSCOPE_E_USER_SEARCH_UNCONFIGURED: {
    status: 400,
    description:
      "User search needs the target's `user_search` key (`table`, `id_column`, optional `email_column`) in the targets file, naming the table of the app's users. Add it (docs/targets.md) or type the user id."
  },
  SYNCSCOPE_E_SOURCE_ROLE_UNSUPPORTED: {
    status: 400,
    description:
      'The least-privilege role cannot be generated for this --role: SyncScope only generates plain role names (lower-case letters, digits and _, at most 63), which need no quoting anywhere. Choose such a name and run `syncscope source-role` again.'
  },
  SYNCSCOPE_E_STREAM_UNKNOWN: {
    status: 400,
    description:
      "A subscription names a sync stream the target's rules do not define (a typo, or a bucket definition, which needs no subscription). Use a name under `streams:` in the rules; the message lists them."
  },
  SYNCSCOPE_E_STREAM_SUBSCRIPTION_INVALID: {
    status: 400,
    description:
      'A stream subscription (a `--subscribe` argument, or a line of the console\'s probe form, which the message names) is malformed: write it as NAME, NAME=PARAMS or NAME@PRIORITY=PARAMS, where PARAMS is a JSON object (e.g. `list_todos={"list_id":"l1"}`) and PRIORITY is 0 to 3.'
  },
  SYNCSCOPE_E_PROBE_BUSY: {
    status: 429,
    description:
      'The agent is already running as many probes as it allows at once. Retry when one finishes (the answer says how many run).'
  },
  SYNCSCOPE_E_DRY_RUN_BUSY: {
    status: 429,
    description:
      'A dry run of draft sync rules is already running on this target from this console (one at a time: each reads every table the rules read). Run yours when it has finished.'
  },
  SYNCSCOPE_E_ADMIN_API: {
    status: 503,
    description:
      "The sync service's admin API could not be reached or refused the request. Check admin_url and the admin token in the targets file."
  },
  SYNCSCOPE_E_AUTH_RATE_LIMITED: {
    status: 429,
    description:
      'Too many failed sign-ins for this email or from this address. Wait the number of seconds the answer gives, then try again.'
  },
  SYNCSCOPE_E_USER_INVALID: {
    status: 400,
    description:
      'A console user could not be added or changed: the email is malformed or taken, the role is not viewer, operator or admin, or the password is shorter than 12 characters.'
  },
  SYNCSCOPE_E_INGEST_KEY: {
    status: 401,
    description:
      'The upload-results report carries no valid ingest key. Create one for the target (`syncscope ingest-keys add --target NAME`) and send it as `Authorization: Bearer <key>`.'
  },
  SYNCSCOPE_E_INGEST_BUSY: {
    status: 429,
    description:
      'SyncScope is storing as many reported operations as it queues. Retry after the seconds in Retry-After (the reporter does this on its own).'
  },
  SYNCSCOPE_E_INSPECT_NOT_SQLITE: {
    status: 400,
    description:
      "The uploaded file is not a SQLite database (its header is not 'SQLite format 3'). Export the app's database file itself (e.g. powersync.db), not a copy of its text or a zip."
  },
  SYNCSCOPE_E_INSPECT_NOT_POWERSYNC: {
    status: 400,
    description:
      'The SQLite file has none of the PowerSync tables (ps_crud, ps_oplog, ps_buckets), or they hold what the SDK never writes (the message names the row): it is not a PowerSync client database as the SDK left it. Export the database the PowerSync SDK opened, unedited.'
  },
  SYNCSCOPE_E_INSPECT_TOO_LARGE: {
    status: 413,
    description:
      'The uploaded database is larger than the inspector accepts. Raise SYNCSCOPE_INSPECT_MAX_BYTES, or inspect it with `syncscope inspect --file`.'
  },
  SYNCSCOPE_E_JOB_UNKNOWN: {
    status: 404,
    description: 'No probe job has this id. Open the probes list to find the run.'
  },
  SYNCSCOPE_E_OPS_DB_NOT_MIGRATED: {
    status: 503,
    description:
      "The ops database needs migrations this role may not run (the console and agent roles cannot change the schema). Run the setup as the ops owner: `npm start` does it, compose's `setup` service does, or call setupOpsDatabase as a superuser; then start again."
  },
  SYNCSCOPE_E_RUN_RETENTION_INVALID: {
    status: 500,
    description:
      'A probe-run retention setting (`--run-retention-days`, SYNCSCOPE_RUN_RETENTION_DAYS, SYNCSCOPE_RUN_PRUNE_BATCH_ROWS, SYNCSCOPE_RUN_PRUNE_PAUSE_MS) is not a whole number in its range. The message names the setting and the range; fix it and start the agent again.'
  },
  SYNCSCOPE_E_OPS_DB_UNREACHABLE: {
    status: 503,
    description:
      "The ops database did not answer a readiness check in time (the message gives the driver's reason). Check SYNCSCOPE_OPS_DATABASE_URL (host, port, role password), that Postgres runs, and that the network lets this pod reach it; the pod stays out of its Service until it answers."
  },
  SYNCSCOPE_E_OPS_GRANTS_MISSING: {
    status: 500,
    description:
      'A table in the ops schema has no entry in OPS_TABLE_GRANTS (core/src/ops-db/ops-roles.ts), so the console and agent roles would get no access to it. Add the privileges each role needs to that table, in the same change as the migration that creates it.'
  },
  SYNCSCOPE_E_OPS_ROLE_PASSWORD_MISSING: {
    status: 500,
    description:
      'A password for an ops database role is missing. Set the environment variable named in the message (compose) or let `npm start` generate it under .syncscope/secrets.'
  }
} as const satisfies Record<string, { status: number; description: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;
