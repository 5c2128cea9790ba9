import { checkWriteCheckpointEcho } from '@syncscope/core/probe/sync/write-checkpoint-echo';
import { mintAuditedProbeToken } from '@syncscope/core/probe/tokens/mint-probe-token';
import { DEMO_USERS } from '@syncscope/demo/seed/index';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProbeHarness, startProbeHarness } from '../probe-harness.ts';
import { proxiedSync } from './fault-harness.ts';

describe('fault: the write-checkpoint round trip cut', () => {
  let h: ProbeHarness;
  beforeAll(async () => {
    h = await startProbeHarness('fault_write_checkpoint_cut');
  });
  afterAll(async () => h?.close());

  it('a cut connection is asked again, so an echoing service is not reported as never echoing', async () => {
    const { proxy, target } = await proxiedSync(h);
    // The first two connections (the write checkpoint's, then the stream's after a retry) are cut.
    proxy.onConnection((c) => {
      if (c.id <= 2) c.setFault({ cutAfterBytes: 20 });
    });
    const token = async () =>
      (
        await mintAuditedProbeToken({
          ...h.authorisation,
          target,
          userId: DEMO_USERS.alice.id,
          purpose: 'read'
        })
      ).token;
    try {
      const echoed = await checkWriteCheckpointEcho(target.syncUrl, token, 10_000);
      console.log(
        `FAULT write-checkpoint-cut: ${proxy.accepted} connections, echoed ${echoed.ok} in ${echoed.waitedSeconds} s`
      );
      expect(proxy.accepted).toBeGreaterThanOrEqual(3);
      expect(echoed.ok).toBe(true);
    } finally {
      await proxy.close();
    }
  }, 60_000);
});
