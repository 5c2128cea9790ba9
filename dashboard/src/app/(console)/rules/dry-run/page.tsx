import { roleAllows, roleOn } from '@syncscope/core/console-users/console-users';
import type { Metadata } from 'next';
import { requirePage } from '@/features/auth/guard.server';
import { DryRunWorkspace } from '@/features/rules-dry-run/dry-run-workspace';
import { listTargets, loadTarget } from '@/server/targets';
import { Empty, ErrorBox, PageHeader, TextLink } from '@/ui/primitives';

export const metadata: Metadata = { title: 'Dry run of draft sync rules' };

export default async function RulesDryRunPage({
  searchParams
}: {
  searchParams: Promise<{ target?: string }>;
}) {
  const access = await requirePage('/rules/dry-run');
  const { target: asked } = await searchParams;
  if (asked) access.requireTarget(asked);
  const targets = access.allowed(await listTargets());
  const target = asked ?? targets[0];
  if (!target) return <Empty>No targets configured that you may run a dry run on.</Empty>;
  let currentRules: string;
  try {
    currentRules = (await loadTarget(target)).syncRulesYaml;
  } catch (error) {
    return <ErrorBox>{(error as Error).message}</ErrorBox>;
  }
  return (
    <>
      <PageHeader title={`Dry run of draft rules · ${target}`}>
        <nav className="flex gap-3 text-xs">
          <TextLink href={`/rules?target=${encodeURIComponent(target)}`}>current rules</TextLink>
          {targets.map((t) => (
            <TextLink key={t} href={`/rules/dry-run?target=${encodeURIComponent(t)}`}>
              {t}
            </TextLink>
          ))}
        </nav>
      </PageHeader>
      <p className="mb-3 text-xs text-zinc-500">
        Edit the target's current rules below. The draft is checked on the server as you type (YAML, the rules
        library, the service's validate endpoint when the target has an admin API, and every table, column and
        type against the live source); a run compares what each user would hold under the draft with today, in
        one read-only snapshot of the source, and is recorded in the audit log.
      </p>
      <DryRunWorkspace
        key={target}
        target={target}
        currentRules={currentRules}
        canQuery={roleAllows(roleOn(access.user.grants, target), 'admin')}
      />
    </>
  );
}
