import type { Metadata } from 'next';
import { requirePage } from '@/features/auth/guard.server';
import { listInspectedDatabases } from '@/features/inspector/inspector-store.server';
import { InspectorUploadForm } from '@/features/inspector/upload-form';
import { listTargets } from '@/server/targets';
import { Card, PageHeader, TextLink, Time } from '@/ui/primitives';

export const metadata: Metadata = { title: 'Client database inspector' };

export default async function InspectorPage() {
  const access = await requirePage('/inspector');
  const [targets, recent] = await Promise.all([
    listTargets().then(access.allowed),
    listInspectedDatabases(access.scope)
  ]);
  return (
    <>
      <PageHeader title="Client database inspector" />
      <p className="mb-4 max-w-2xl text-zinc-600 dark:text-zinc-400">
        Upload the SQLite file a user’s app exported: see its upload queue (the operation at the head blocks
        the rest), its buckets and op-log position, and what it holds against what the source says the user
        should have. The file is opened read-only and deleted after the retention you choose.
      </p>
      <InspectorUploadForm targets={targets} />
      {recent.length ? (
        <Card title="Kept for now" className="mt-6">
          <ul className="space-y-1 text-xs">
            {recent.map((r) => (
              <li key={r.id}>
                <TextLink href={`/inspector/${r.id}`}>{r.originalName}</TextLink> · {r.userId ?? 'no user'} ·
                by {r.uploadedBy} · deleted at <Time value={r.expiresAt} />
              </li>
            ))}
          </ul>
        </Card>
      ) : null}
    </>
  );
}
