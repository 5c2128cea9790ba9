import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DevServerHarness,
  readSyncStream,
  startDevServerHarness
} from '../testing/dev-server-harness.ts';

const SOURCE = `
CREATE DOMAIN moment AS timestamptz;
CREATE DOMAIN checked_moment AS moment CHECK (VALUE > '2000-01-01');
CREATE TABLE events (id text PRIMARY KEY, owner text, at checked_moment, n int);
CREATE PUBLICATION powersync FOR ALL TABLES;
INSERT INTO events VALUES ('e1', 'u-1', '2026-03-04 05:06:07.5+02', 7);`;

const RULES = `
bucket_definitions:
  mine:
    parameters: SELECT request.user_id() AS owner
    data:
      - SELECT * FROM events WHERE owner = bucket.owner
`;

describe('domains', () => {
  let h: DevServerHarness;
  beforeAll(async () => {
    h = await startDevServerHarness({ name: 'domains', sourceSql: SOURCE, rulesYaml: RULES });
  });
  afterAll(async () => h?.close());

  it('a domain over a domain over timestamptz converts like timestamptz', async () => {
    const { lines } = await readSyncStream(
      h.server.url,
      await h.token('u-1'),
      {},
      (l) => 'checkpoint_complete' in l
    );
    const op = (lines.find((l) => 'data' in l) as any).data.data[0];
    expect(JSON.parse(op.data)).toEqual({ id: 'e1', owner: 'u-1', at: '2026-03-04 03:06:07.5Z', n: 7 });
  });
});
