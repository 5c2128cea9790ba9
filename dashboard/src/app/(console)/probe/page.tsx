import type { Metadata } from 'next';
import { requirePage } from '@/features/auth/guard.server';
import { ProbeForm } from '@/features/probes/probe-form';
import { listTargets } from '@/server/targets';
import { Empty, PageHeader } from '@/ui/primitives';

export const metadata: Metadata = { title: 'Probe a user' };

export default async function ProbePage({
  searchParams
}: {
  searchParams: Promise<{ target?: string; user?: string; subscriptions?: string }>;
}) {
  const access = await requirePage('/probe');
  const { target, user, subscriptions } = await searchParams;
  if (target) access.requireTarget(target);
  const targets = access.allowed(await listTargets());
  return (
    <>
      <PageHeader title="Probe a user" />
      <p className="mb-4 max-w-2xl text-zinc-600 dark:text-zinc-400">
        An agent mints a 5-minute token for the user, syncs as them with the real PowerSync client, computes
        what they should have from the source database and the sync rules, and shows every difference with its
        cause. Impersonation is audited with your reason.
      </p>
      {targets.length ? (
        <ProbeForm
          targets={targets}
          initialTarget={target}
          initialUser={user}
          initialSubscriptions={subscriptions}
        />
      ) : (
        <Empty>
          No targets you may probe: add one to the targets file (docs/targets.md), or ask an admin for the
          operator role on one.
        </Empty>
      )}
    </>
  );
}
