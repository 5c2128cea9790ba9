'use client';
import { useState } from 'react';
import { buttonClass, FormError, inputClass } from '@/ui/primitives';

/**
 * A plain POST form that signs in without JavaScript (the route answers with a 303), enhanced with
 * fetch once hydrated. It is never a GET form: submitted before hydration, it still must not put the
 * password in the address bar, the history or access logs. `next` was validated on the server.
 */
export function LoginForm({ next, initialError }: { next: string; initialError: string | null }) {
  const [error, setError] = useState<string | null>(initialError);
  const [busy, setBusy] = useState(false);
  const submit = async (event: React.FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const form = new FormData(event.currentTarget);
    const response = await fetch('/api/auth/login', {
      method: 'POST',
      headers: { accept: 'application/json' },
      body: new URLSearchParams(form as unknown as Record<string, string>)
    });
    setBusy(false);
    const body = (await response.json().catch(() => null)) as {
      next?: string;
      error?: { message?: string };
    } | null;
    if (response.ok && body?.next) {
      window.location.assign(body.next);
      return;
    }
    setError(body?.error?.message ?? `Sign-in failed (HTTP ${response.status}).`);
  };
  return (
    <form method="post" action="/api/auth/login" onSubmit={submit} className="space-y-3">
      <input type="hidden" name="next" value={next} />
      <label className="block">
        <span className="mb-1 block text-xs text-zinc-500">Email</span>
        <input
          name="email"
          type="email"
          autoComplete="username"
          required
          className={`${inputClass} w-full`}
        />
      </label>
      <label className="block">
        <span className="mb-1 block text-xs text-zinc-500">Password</span>
        <input
          name="password"
          type="password"
          autoComplete="current-password"
          required
          className={`${inputClass} w-full`}
        />
      </label>
      <FormError message={error} />
      <button type="submit" disabled={busy} className={buttonClass}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}
