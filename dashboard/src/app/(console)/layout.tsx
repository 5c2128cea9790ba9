import { describeGrant } from '@syncscope/core/console-users/describe-grant';
import { cookies } from 'next/headers';
import Link from 'next/link';
import type { ReactNode } from 'react';
import { mayOpen, requireSignedIn } from '@/features/auth/guard.server';
import { SignOutButton } from '@/features/auth/sign-out-button';
import type { PagePath } from '@/server/route-policy';
import { KeyboardShortcuts } from '@/ui/keyboard-shortcuts';
import { ThemeToggle } from '@/ui/theme-toggle';

const NAV: { href: PagePath; label: string; key?: string }[] = [
  { href: '/', label: 'Overview', key: 'g o' },
  { href: '/fleet', label: 'Fleet', key: 'g f' },
  { href: '/probe', label: 'Probe a user', key: 'g p' },
  { href: '/probes', label: 'Probes', key: 'g h' },
  { href: '/trace', label: 'Row trace', key: 'g t' },
  { href: '/uploads', label: 'Upload errors', key: 'g u' },
  { href: '/inspector', label: 'DB inspector', key: 'g i' },
  { href: '/rules', label: 'Sync rules', key: 'g r' },
  { href: '/audit', label: 'Audit log', key: 'g a' },
  { href: '/admin/users', label: 'Users & roles' }
];

export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  const user = await requireSignedIn();
  const visible = NAV.filter(({ href }) => mayOpen(user, href));
  const theme = (await cookies()).get('syncscope_theme')?.value;
  return (
    <div className="flex min-h-screen">
      <KeyboardShortcuts />
      <nav
        aria-label="main"
        className="w-48 shrink-0 border-r border-zinc-200 bg-zinc-50 p-3 dark:border-zinc-800 dark:bg-zinc-900"
      >
        <div className="mb-4 font-semibold tracking-tight">SyncScope</div>
        <ul className="space-y-0.5">
          {visible.map((item) => (
            <li key={item.href}>
              <Link
                href={item.href}
                className="flex justify-between rounded px-2 py-1 hover:bg-zinc-200 dark:hover:bg-zinc-800"
              >
                <span>{item.label}</span>
                {item.key ? <kbd className="font-mono text-[10px] text-zinc-400">{item.key}</kbd> : null}
              </Link>
            </li>
          ))}
        </ul>
        <div className="mt-6 space-y-1 border-t border-zinc-200 pt-3 text-xs dark:border-zinc-800">
          <div className="truncate" title={user.email} data-testid="signed-in-as">
            {user.email}
          </div>
          <div className="text-zinc-500" data-testid="grants">
            {user.grants.map(describeGrant).join(', ') || 'no roles yet: ask an admin'}
          </div>
          <div className="flex gap-3">
            <SignOutButton />
            <ThemeToggle initial={theme === 'dark' || theme === 'light' ? theme : 'system'} />
          </div>
        </div>
      </nav>
      <main className="min-w-0 flex-1 p-5">{children}</main>
    </div>
  );
}
