import { getProbeJob } from '@syncscope/core/probe-jobs/probe-jobs';
import type { Metadata } from 'next';
import { notFound, redirect } from 'next/navigation';
import { requirePage } from '@/features/auth/guard.server';
import { ProbeProgress } from '@/features/probes/probe-progress';
import { SubscriptionList } from '@/features/probes/subscription-list';
import { opsPool } from '@/server/ops-pool';
import { Mono, PageHeader } from '@/ui/primitives';

export const metadata: Metadata = { title: 'Probe running' };

export default async function ProbeJobPage({ params }: { params: Promise<{ id: string }> }) {
  const access = await requirePage('/probes/jobs/[id]');
  const job = await getProbeJob(opsPool(), (await params).id);
  if (!job) notFound();
  access.requireTarget(job.target);
  if (job.status === 'done' && job.runId) redirect(`/probes/${job.runId}`);
  return (
    <>
      <PageHeader
        title={
          job.kind === 'write' ? `Write probe on ${job.target}` : `Probing ${job.userId} on ${job.target}`
        }
      />
      <p className="mb-4 text-xs text-zinc-500">
        Job <Mono>{job.id}</Mono> · requested by {job.requestedBy} · reason: {job.reason}
      </p>
      {job.subscriptions.length ? (
        <div className="mb-4 text-xs" data-testid="job-subscriptions">
          <span className="text-zinc-500">Stream subscriptions:</span>
          <SubscriptionList subscriptions={job.subscriptions} none="" />
        </div>
      ) : null}
      <ProbeProgress
        jobId={job.id}
        kind={job.kind}
        initial={{
          jobId: job.id,
          status: job.status,
          progress: job.progress,
          error: job.error ?? undefined,
          sentAt: Date.now()
        }}
      />
    </>
  );
}
