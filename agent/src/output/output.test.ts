import { createLogger } from '@syncscope/core';
import { PROBE_REPORT_VERSION, type ProbeReport, type ProbeTarget } from '@syncscope/core/probe/probe-types';
import { describe, expect, it } from 'vitest';
import { formatProbeReport } from './format-report.ts';
import { SecretScrubber } from './secret-scrubber.ts';

describe('SecretScrubber', () => {
  const target: ProbeTarget = {
    name: 't',
    syncUrl: 'http://127.0.0.1:7001',
    adminToken: 'admin-token-0123456789',
    sourceUrl: 'postgres://probe:p%40ss-word-1234@127.0.0.1:5433/app',
    syncRulesYaml: '',
    signing: {
      kind: 'hs256',
      kid: 'k',
      secret: new Uint8Array(Buffer.from('hs-secret-of-at-least-32-bytes-long!'))
    },
    audience: 'a'
  };
  const scrubber = new SecretScrubber().addTarget(target);
  const hs = Buffer.from('hs-secret-of-at-least-32-bytes-long!');

  it('blanks known secrets in every encoding and anything shaped like a JWT', () => {
    const text = [
      'admin-token-0123456789',
      'p@ss-word-1234',
      'p%40ss-word-1234',
      hs.toString('utf8'),
      hs.toString('base64url'),
      hs.toString('hex'),
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ'
    ].join(' | ');
    expect(scrubber.scrub(text)).toBe(
      '[redacted] | [redacted] | [redacted] | [redacted] | [redacted] | [redacted] | [redacted jwt]'
    );
  });

  it('leaves short and well-known values alone', () => {
    const s = new SecretScrubber().add('postgres', 'short', undefined, '');
    expect(s.scrub('postgres://postgres@h/short')).toBe('postgres://postgres@h/short');
  });

  it('scrubs log lines through its pino destination, on top of key redaction', () => {
    let written = '';
    const logger = createLogger('t', 'info', scrubber.destination({ write: (t: string) => (written += t) }));
    logger.info(
      { adminToken: 'admin-token-0123456789', note: 'token admin-token-0123456789 leaked in text' },
      'x'
    );
    expect(written).not.toContain('admin-token-0123456789');
    expect(JSON.parse(written)).toMatchObject({
      adminToken: '[redacted]',
      note: 'token [redacted] leaked in text'
    });
  });
});

describe('formatProbeReport', () => {
  const report: ProbeReport = {
    version: PROBE_REPORT_VERSION,
    target: 'demo',
    userId: 'u-1',
    verdict: 'mismatch',
    summary: 'Mismatch: 1 row and 1 bucket differences. records/r1 is missing.',
    startedAt: '2025-01-01T00:00:00.000Z',
    durationMs: 3210,
    phases: { mint: 4, sync: 1200, diff: 30 },
    token: {
      kid: 'syncscope-probe-1',
      jti: 'jti-1',
      expiresAt: '2025-01-01T00:04:00.000Z',
      audience: 'syncscope-probe'
    },
    sync: { kind: 'synced', ms: 1200 },
    buckets: {
      expected: ['1#ws["a"]', '1#ws["b"]'],
      actual: ['1#ws["a"]'],
      differences: [
        { kind: 'missing', bucket: '1#ws["b"]', explanation: 'the membership row is not replicated yet' }
      ],
      overLimit: false
    },
    rows: {
      expected: 3,
      actual: 2,
      perTable: { records: { expected: 2, actual: 1 }, workspaces: { expected: 1, actual: 1 } },
      differences: [
        {
          kind: 'different',
          table: 'records',
          id: 'r1',
          buckets: ['1#ws["a"]'],
          fields: [{ field: 'title', expected: 'new', actual: 'old' }],
          settled: 'persisted',
          explanation: 'the service serves a stale version'
        }
      ]
    },
    checksums: { bucketMismatches: [], rowMismatches: 0 },
    warnings: ['clock skew 2 s']
  };

  it('puts the summary first, then buckets, rows per table and differences with explanations', () => {
    expect(formatProbeReport(report)).toBe(
      `Mismatch: 1 row and 1 bucket differences. records/r1 is missing.

target demo · user u-1 · 3.2 s · token kid syncscope-probe-1, jti jti-1, expires 2025-01-01T00:04:00.000Z
sync: synced in 1.2 s
phases: mint 4 ms, sync 1.2 s, diff 30 ms

Buckets: 2 expected, 1 synced
  ✓         1#ws["a"]
  ✗ missing 1#ws["b"]
  missing 1#ws["b"]: the membership row is not replicated yet

Rows: 3 expected, 2 synced
  table       expected  synced
  records            2       1  ✗
  workspaces         1       1

Differences: 1 persisted, 0 cleared within the settle window
  different records/r1 in 1#ws["a"]
      title: expected "new", synced "old"
      → the service serves a stale version

Warnings:
  - clock skew 2 s
`
    );
  });

  it('claims nothing about what the user holds when the probe ended before its diff', () => {
    const unreachable: ProbeReport = {
      ...report,
      verdict: 'inconclusive',
      summary: 'Inconclusive: The sync service is unreachable: cannot reach http://sync (ECONNREFUSED).',
      reason: {
        code: 'SYNCSCOPE_E_SERVICE_UNREACHABLE',
        message: 'cannot reach http://sync (ECONNREFUSED).'
      },
      phases: { mint: 4, sync: 300 },
      sync: { kind: 'unreachable', message: 'cannot reach http://sync (ECONNREFUSED)' },
      buckets: { expected: ['1#ws["b"]', '1#ws["a"]'], actual: [], differences: [], overLimit: false },
      rows: { expected: 0, actual: 0, perTable: {}, differences: [] },
      warnings: []
    };
    const text = formatProbeReport(unreachable);
    expect(text).toContain(
      'Buckets: 2 expected; not compared (the probe ended before its diff)\n  ? 1#ws["a"]\n  ? 1#ws["b"]\n'
    );
    expect(text).not.toMatch(/✓|Differences: none|Rows:/);
  });

  describe('a light probe and the full probe that checked its difference', () => {
    const lightId = '7f1c2a9e-0000-4000-8000-000000000001';
    const fullId = '7f1c2a9e-0000-4000-8000-000000000002';
    const full: ProbeReport = {
      ...report,
      mode: 'full',
      reason: { code: 'SYNCSCOPE_E_ROWS_DIFFER', message: '1 row and 1 bucket differences.' },
      token: { ...report.token, jti: 'jti-2' }
    };
    const light: ProbeReport = {
      ...report,
      mode: 'light',
      reason: {
        code: 'SYNCSCOPE_E_ROWS_DIFFER',
        message:
          '1 row and 1 bucket differences. (found by the light probe, confirmed by a full probe with the real client)'
      },
      confirmation: full,
      confirmedByRun: fullId
    };

    it("the light run's text names the full run that confirmed it, and what that probe found", () => {
      const text = formatProbeReport(light);
      expect(text).toContain(
        `mode light · confirmed by full probe ${fullId}\n  full probe: Mismatch: 1 row and 1 bucket differences. records/r1 is missing.\n`
      );
    });

    it("the full run's text names the light run whose difference it confirms", () => {
      expect(formatProbeReport({ ...full, confirmsRun: lightId })).toContain(
        `mode full · light probe ${lightId} found a difference; this full probe confirms it\n`
      );
    });

    it('a difference the full probe did not see: the light run says so', () => {
      const consistent: ProbeReport = {
        ...full,
        verdict: 'consistent',
        summary: 'Consistent: 3 rows match.'
      };
      const text = formatProbeReport({
        ...light,
        verdict: 'consistent',
        reason: undefined,
        confirmation: consistent
      });
      expect(text).toContain(`mode light · not confirmed: full probe ${fullId} found the user consistent\n`);
      expect(text).not.toContain('confirmed by full probe');
    });
  });
});
