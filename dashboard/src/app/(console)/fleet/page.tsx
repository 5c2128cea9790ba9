import type { Metadata } from 'next';
import { requirePage } from '@/features/auth/guard.server';
import {
  canaryFreshness,
  differenceSources,
  problemUsers,
  verdictsPerHour,
  verifiedShares
} from '@/features/fleet/fleet.server';
import {
  CanaryTable,
  DifferenceSources,
  ProblemUsers,
  VerdictBars,
  VerifiedTable
} from '@/features/fleet/fleet-view';
import { userLabels } from '@/features/user-labels/user-labels.server';
import { listTargets } from '@/server/targets';
import { Card, PageHeader } from '@/ui/primitives';

export const metadata: Metadata = { title: 'Fleet' };

const HOURS = 48;

export default async function FleetPage() {
  const access = await requirePage('/fleet');
  const listed = access.allowed(await listTargets());
  const [shares, hours, sources, users, canaries] = await Promise.all([
    verifiedShares(listed, access.scope),
    verdictsPerHour(access.scope, HOURS),
    differenceSources(access.scope, 7, 10),
    problemUsers(access.scope, 15),
    canaryFreshness(access.scope, 50)
  ]);
  const label = await userLabels([...users, ...canaries]);
  const now = new Date();
  return (
    <>
      <PageHeader title="Fleet" />
      <div className="grid gap-4 xl:grid-cols-2">
        <Card title="Users verified in the last 24 h">
          <VerifiedTable shares={shares} />
        </Card>
        <Card title={`Read probe verdicts per hour (last ${HOURS} h)`}>
          <VerdictBars hours={hours} />
        </Card>
        <Card title="Tables behind most differences (7 days)">
          <DifferenceSources sources={sources} dimension="table" />
        </Card>
        <Card title="Rules behind most differences (7 days)">
          <DifferenceSources sources={sources} dimension="rule" />
        </Card>
        <Card title="Users with most runs not consistent (24 h)">
          <ProblemUsers users={users} label={label} />
        </Card>
        <Card title="Canaries, least fresh first" className="xl:col-span-2">
          <CanaryTable canaries={canaries} label={label} now={now} />
        </Card>
      </div>
    </>
  );
}
