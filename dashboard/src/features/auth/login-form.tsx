'use client';
import { useState } from 'react';
import { buttonClass, FormError, inputClass } from '@/ui/primitives';

export function LoginForm({ next }: { next: string }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: React.FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const form = new FormData(event.currentTarget);
    const response = await fetch('/api/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: form.get('email'), password: form.get('password') })
    });
    setBusy(false);
    if (response.ok) {
      // Only same-site paths: a crafted ?next= cannot send the operator elsewhere.
      window.location.assign(next.startsWith('/') && !next.startsWith('//') ? next : '/');
      return;
    }
    const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
    setError(body?.error?.message ?? `Sign-in failed (HTTP ${response.status}).`);
  };
  return (
    <form onSubmit={submit} className="space-y-3">
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
