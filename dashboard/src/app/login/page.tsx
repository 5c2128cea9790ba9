import type { Metadata } from 'next';
import { LoginForm } from '@/features/auth/login-form';
import { safeNextPath } from '@/features/auth/safe-next';

export const metadata: Metadata = { title: 'Sign in' };

/** What the no-JavaScript form's redirect back says (the route never echoes what was typed). */
function errorText(error: string | undefined, wait: string | undefined): string | null {
  if (error === 'wrong') return 'Wrong email or password.';
  if (error === 'throttled') return `Too many failed sign-ins; try again in ${Number(wait) || 1} s.`;
  if (error === 'invalid') return 'Give your email and password.';
  return null;
}

export default async function LoginPage({
  searchParams
}: {
  searchParams: Promise<{ next?: string; error?: string; wait?: string }>;
}) {
  const { next, error, wait } = await searchParams;
  return (
    <main className="mx-auto mt-24 max-w-sm rounded-md border border-zinc-200 p-6 dark:border-zinc-800">
      <h1 className="mb-1 text-lg font-semibold">SyncScope</h1>
      <p className="mb-4 text-xs text-zinc-500">Sign in to the PowerSync operations console.</p>
      <LoginForm next={safeNextPath(next ?? '/')} initialError={errorText(error, wait)} />
    </main>
  );
}
