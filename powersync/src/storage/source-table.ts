import { createHash } from 'node:crypto';

/** A replicated source table, as the storage and the sync rules see it. */
export interface SourceTable {
  readonly connectionTag: string;
  readonly schema: string;
  readonly name: string;
  /** `schema.name`: the storage key of the table. */
  readonly key: string;
  /** Columns that identify a row (primary key or replica identity index). */
  readonly replicaIdColumns: readonly string[];
  /** Stable id of the table, the first half of every op subkey. */
  readonly storageId: string;
  readonly syncsData: boolean;
  readonly syncsParameters: boolean;
}

/** A deterministic UUID-shaped id (name-based, SHA-1 like uuid v5) so a restart keeps the same subkeys. */
export function nameBasedUuid(name: string): string {
  const hash = createHash('sha1').update(name).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function makeSourceTable(
  schema: string,
  name: string,
  replicaIdColumns: readonly string[],
  flags: { syncsData: boolean; syncsParameters: boolean },
  connectionTag = 'default'
): SourceTable {
  const key = `${schema}.${name}`;
  return { connectionTag, schema, name, key, replicaIdColumns, storageId: nameBasedUuid(`table:${key}`), ...flags };
}

/** The subkey of every op a source row produces: `<table id>/<row id>`, as the service forms it. */
export function opSubkey(table: SourceTable, replicaId: string): string {
  return `${table.storageId}/${nameBasedUuid(`row:${replicaId}`)}`;
}
