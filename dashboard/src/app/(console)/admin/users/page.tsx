import { listConsoleUsers } from '@syncscope/core/console-users/console-users';
import type { Metadata } from 'next';
import { requirePage } from '@/features/auth/guard.server';
import { UsersAdmin } from '@/features/users/users-admin';
import { opsPool } from '@/server/ops-pool';
import { listTargets } from '@/server/targets';
import { PageHeader } from '@/ui/primitives';

export const metadata: Metadata = { title: 'Users & roles' };

export default async function UsersPage() {
  await requirePage('/admin/users');
  const [users, targets] = await Promise.all([listConsoleUsers(opsPool()), listTargets()]);
  return (
    <>
      <PageHeader title="Users & roles" />
      <p className="mb-3 max-w-2xl text-xs text-zinc-500">
        viewer: reads results · operator: runs probes (impersonates users) · admin: the audit log, and (on all
        targets) users and roles. Each role is granted on one target or on all targets; a user sees nothing of
        a target they hold no role on. Every change is audited.
      </p>
      <UsersAdmin users={users} targets={targets} />
    </>
  );
}
