import 'server-only';
import { PROBE_MODES } from '@syncscope/core/probe/probe-mode';
import { RESERVED_PROBE_CLAIMS } from '@syncscope/core/probe/tokens/mint-probe-token';
import { enqueueProbeJob } from '@syncscope/core/probe-jobs/probe-jobs';
import { z } from 'zod';
import { authorizeRoute, errorResponse } from '@/features/auth/guard.server';
import { audit } from '@/server/audit';
import { opsPool } from '@/server/ops-pool';
import { listTargets, loadTarget } from '@/server/targets';
import { parseProbeSubscriptions } from './probe-subscriptions.server';

const probeRequestSchema = z.strictObject({
  kind: z.enum(['read', 'write']).default('read'),
  target: z.string().min(1),
  /** The user to probe (read probes); a write probe writes as the target's configured test user. */
  userId: z.string().trim().min(1).max(256).optional(),
  claims: z.record(z.string(), z.unknown()).optional(),
  /** The form's stream subscriptions, one `NAME`, `NAME=JSON` or `NAME@PRIORITY=JSON` per line (read probes). */
  subscriptions: z.string().max(20_000).default(''),
  /** How a read probe syncs: full (the real client) or light (the stream itself; differences confirmed by a full probe). */
  mode: z.enum(PROBE_MODES).default('full'),
  reason: z
    .string()
    .trim()
    .min(3, 'Give a reason (at least 3 characters): it goes to the audit log.')
    .max(500)
});

/**
 * POST /api/probes: an operator asks for a probe (impersonating a user). The request is audited with
 * its reason before the job is queued; the agent that runs it audits every token it mints.
 */
export async function handleEnqueueProbe(request: Request): Promise<Response> {
  const auth = await authorizeRoute(request, '/api/probes');
  if ('response' in auth) return auth.response;
  const parsed = probeRequestSchema.safeParse(await request.json().catch(() => null));
  if (!parsed.success) {
    const problem = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
    return errorResponse(400, 'SYNCSCOPE_E_REQUEST_INVALID', problem);
  }
  const { kind, target, claims, reason, mode } = parsed.data;
  const denied = auth.deny(target);
  if (denied) return denied;
  if (!(await listTargets()).includes(target))
    return errorResponse(404, 'SYNCSCOPE_E_TARGET_UNKNOWN', `No target "${target}" in the targets file.`);
  const userId = kind === 'write' ? (await loadTarget(target)).writeProbe?.userId : parsed.data.userId;
  if (!userId)
    return errorResponse(
      400,
      'SYNCSCOPE_E_REQUEST_INVALID',
      kind === 'write'
        ? `Target "${target}" has no write_probe section: add its test user, table and upload token (docs/targets.md).`
        : 'userId: the user to probe is required.'
    );
  const reserved = Object.keys(claims ?? {}).filter((k) =>
    (RESERVED_PROBE_CLAIMS as readonly string[]).includes(k)
  );
  if (reserved.length > 0)
    return errorResponse(
      400,
      'SYNCSCOPE_E_PROBE_TOKEN_INVALID',
      `Claims may not set ${reserved.join(', ')}: the probe token sets them itself.`
    );
  if (kind === 'write' && mode === 'light')
    return errorResponse(
      400,
      'SYNCSCOPE_E_REQUEST_INVALID',
      'mode: a write probe writes through the real client and is always full; drop mode, or run a read probe.'
    );
  if (kind === 'write' && parsed.data.subscriptions.trim())
    return errorResponse(
      400,
      'SYNCSCOPE_E_REQUEST_INVALID',
      "subscriptions: a write probe syncs as the target's test user with the default streams only; drop them, or run a read probe."
    );
  const read = await parseProbeSubscriptions(target, parsed.data.subscriptions);
  if ('error' in read) return errorResponse(read.error.status, read.error.code, read.error.message);
  const { subscriptions } = read;
  await audit({
    actor: auth.user.email,
    action: 'probe.requested',
    target,
    subjectUser: userId,
    reason,
    details: { kind, mode, claims: Object.keys(claims ?? {}), subscriptions }
  });
  const job = await enqueueProbeJob(opsPool(), {
    kind,
    target,
    userId,
    claims,
    subscriptions,
    mode,
    reason,
    requestedBy: auth.user.email
  });
  return Response.json({ jobId: job.id }, { status: 202 });
}
