import { column, Schema, Table } from '@powersync/node';

/** The demo app's client schema: the synced tables of sync_rules.yaml with the source's column types. */
export const demoClientSchema = new Schema({
  records: new Table({
    workspace_id: column.text,
    title: column.text,
    amount: column.text,
    category_id: column.text,
    created_at: column.text,
    updated_at: column.text
  }),
  categories: new Table({ workspace_id: column.text, name: column.text, usage_count: column.integer })
});
