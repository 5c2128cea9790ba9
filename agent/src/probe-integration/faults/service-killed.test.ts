import { DEMO_USERS } from '@syncscope/demo/seed/index';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProbeHarness, startProbeHarness } from '../probe-harness.ts';
import { probeThrough, proxiedSync } from './fault-harness.ts';

describe('fault: the sync service killed mid-probe', () => {
  let h: ProbeHarness;
  beforeAll(async () => {
    h = await startProbeHarness('fault_service_killed');
  });
  afterAll(async () => h?.close());

  it('stopped while the client downloads: inconclusive SERVICE_UNREACHABLE; restarted: consistent', async () => {
    // The proxy slows the stream so the service is stopped while the first checkpoint downloads.
    const { proxy, target } = await proxiedSync(h);
    proxy.setFault({ bytesPerSecond: 32 * 1024 });
    let stopping: Promise<void> | null = null;
    try {
      const report = await probeThrough(h, target, DEMO_USERS.alice.id, {
        onSyncProgress: ({ done, total }) => {
          if (done === 0 || total === null || done >= total) return;
          // As a killed host: its connections reset (bytes in flight lost), its port refuses.
          proxy.resetAll();
          stopping ??= h.sync.close();
        }
      });
      await stopping;
      console.log(
        `FAULT service-killed: stopped mid-download; verdict ${report.verdict} (${report.reason?.code ?? report.error?.code}) in ${report.durationMs} ms: ${report.summary}`
      );
      expect(stopping).not.toBeNull();
      expect(report.verdict).toBe('inconclusive');
      // The client's reconnects fail, and the probe asks the service directly: it is gone.
      expect(report.reason?.code).toBe('SYNCSCOPE_E_SERVICE_UNREACHABLE');

      await h.startSync();
      proxy.setFault({});
      const after = await probeThrough(h, target, DEMO_USERS.alice.id);
      console.log(
        `FAULT service-killed: after the restart, verdict ${after.verdict} in ${after.durationMs} ms`
      );
      expect(after.verdict, after.summary).toBe('consistent');
    } finally {
      await proxy.close();
    }
  }, 90_000);
});
