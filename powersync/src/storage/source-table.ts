import { nameBasedUuid } from '@syncscope/core/ids/name-based-uuid';

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

export function makeSourceTable(
  schema: string,
  name: string,
  replicaIdColumns: readonly string[],
  flags: { syncsData: boolean; syncsParameters: boolean },
  connectionTag = 'default'
): SourceTable {
  const key = `${schema}.${name}`;
  return {
    connectionTag,
    schema,
    name,
    key,
    replicaIdColumns,
    storageId: nameBasedUuid(`table:${key}`),
    ...flags
  };
}

/** The subkey of every op a source row produces: `<table id>/<row id>`, as the service forms it. */
export function opSubkey(table: SourceTable, replicaId: string): string {
  return `${table.storageId}/${nameBasedUuid(`row:${replicaId}`)}`;
}
