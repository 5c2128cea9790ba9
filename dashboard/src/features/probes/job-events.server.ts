import 'server-only';
import { getProbeJob, type ProbeJobEvent } from '@syncscope/core/probe-jobs/probe-jobs';
import { authorizeRoute, errorResponse } from '@/features/auth/guard.server';
import { onProbeJobEvent } from '@/server/live-events';
import { opsPool } from '@/server/ops-pool';

/**
 * GET /api/probes/jobs/:id/events: Server-Sent Events for one probe job. It sends the job's current
 * state first (no race with a job that finished before the browser connected), then every NOTIFY the
 * agent sends for it, and closes after the final state.
 */
export async function handleJobEvents(request: Request, jobId: string): Promise<Response> {
  const auth = await authorizeRoute(request, '/api/probes/jobs/[id]/events');
  if ('response' in auth) return auth.response;
  const job = await getProbeJob(opsPool(), jobId);
  if (!job) return errorResponse(404, 'SYNCSCOPE_E_JOB_UNKNOWN', `No probe job ${jobId}.`);
  const denied = auth.deny(job.target);
  if (denied) return denied;
  const encoder = new TextEncoder();
  let stop = () => {};
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        stop();
        clearInterval(keepalive);
        controller.close();
      };
      const send = (event: ProbeJobEvent) => {
        if (closed) return;
        controller.enqueue(encoder.encode(`data: ${JSON.stringify(event)}\n\n`));
        if (event.status === 'done' || event.status === 'failed') close();
      };
      const keepalive = setInterval(
        () => !closed && controller.enqueue(encoder.encode(': keepalive\n\n')),
        15_000
      );
      stop = await onProbeJobEvent((event) => event.jobId === jobId && send(event));
      // Read after subscribing, so no event falls between the read and the subscription.
      const current = await getProbeJob(opsPool(), jobId);
      if (current)
        send({
          jobId,
          status: current.status,
          progress: current.progress,
          runId: current.runId ?? undefined,
          error: current.error ?? undefined,
          sentAt: Date.now()
        });
      request.signal.addEventListener('abort', close);
    },
    cancel() {
      stop();
    }
  });
  return new Response(stream, {
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store, no-transform',
      'x-accel-buffering': 'no'
    }
  });
}
