import { listConsoleUsers } from '@syncscope/core/console-users/console-users';
import type { Metadata } from 'next';
import { requirePageUser } from '@/features/auth/guard.server';
import { UsersAdmin } from '@/features/users/users-admin';
import { opsPool } from '@/server/ops-pool';
import { PageHeader } from '@/ui/primitives';

export const metadata: Metadata = { title: 'Users & roles' };

export default async function UsersPage() {
  await requirePageUser('admin');
  const users = await listConsoleUsers(opsPool());
  return (
    <>
      <PageHeader title="Users & roles" />
      <p className="mb-3 max-w-2xl text-xs text-zinc-500">
        viewer: reads results · operator: runs probes (impersonates users) · admin: users, roles and the audit
        log. Every change is audited.
      </p>
      <UsersAdmin users={users} />
    </>
  );
}
