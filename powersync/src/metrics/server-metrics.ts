import { Counter, Gauge, Registry } from 'prom-client';

/**
 * The real service's metric names, for what the dev server can count, so dashboards and alerts
 * written against the real service read the dev server unchanged.
 */
export const SERVICE_METRIC_NAMES = {
  concurrentConnections: 'powersync_concurrent_connections',
  replicationLagSeconds: 'powersync_replication_lag_seconds',
  rowsReplicated: 'powersync_rows_replicated_total',
  transactionsReplicated: 'powersync_transactions_replicated_total',
  operationsSynced: 'powersync_operations_synced_total',
  dataSyncedBytes: 'powersync_data_synced_bytes_total',
  dataSentBytes: 'powersync_data_sent_bytes_total'
} as const;

export function createServerMetrics() {
  const registry = new Registry();
  registry.setDefaultLabels({});
  const m = SERVICE_METRIC_NAMES;
  // prom-client appends nothing: names already carry the real service's `_total` suffixes.
  return {
    registry,
    concurrentConnections: new Gauge({
      name: m.concurrentConnections,
      help: 'Number of concurrent sync connections',
      registers: [registry]
    }),
    replicationLagSeconds: new Gauge({
      name: m.replicationLagSeconds,
      help: 'Replication lag between the source database and PowerSync instance',
      registers: [registry]
    }),
    rowsReplicated: new Counter({
      name: m.rowsReplicated,
      help: 'Total number of replicated rows',
      registers: [registry]
    }),
    transactionsReplicated: new Counter({
      name: m.transactionsReplicated,
      help: 'Total number of replicated transactions',
      registers: [registry]
    }),
    operationsSynced: new Counter({
      name: m.operationsSynced,
      help: 'Number of operations synced',
      registers: [registry]
    }),
    dataSyncedBytes: new Counter({
      name: m.dataSyncedBytes,
      help: 'Uncompressed size of synced data',
      registers: [registry]
    }),
    dataSentBytes: new Counter({
      name: m.dataSentBytes,
      help: 'Size of data sent to clients, after compression if applicable',
      registers: [registry]
    })
  };
}

export type ServerMetrics = ReturnType<typeof createServerMetrics>;
