import type { Metadata } from 'next';
import { LoginForm } from '@/features/auth/login-form';

export const metadata: Metadata = { title: 'Sign in' };

export default async function LoginPage({ searchParams }: { searchParams: Promise<{ next?: string }> }) {
  const { next } = await searchParams;
  return (
    <main className="mx-auto mt-24 max-w-sm rounded-md border border-zinc-200 p-6 dark:border-zinc-800">
      <h1 className="mb-1 text-lg font-semibold">SyncScope</h1>
      <p className="mb-4 text-xs text-zinc-500">Sign in to the PowerSync operations console.</p>
      <LoginForm next={next ?? '/'} />
    </main>
  );
}
