'use client';
import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';
import { buttonClass, FormError, inputClass } from '@/ui/primitives';
import { useHydrated } from '@/ui/use-hydrated';
import { SubscriptionsField } from './subscriptions-field';

interface Props {
  targets: string[];
  initialTarget?: string;
  initialUser?: string;
  /** Subscription lines to start with (a result's "probe again"). */
  initialSubscriptions?: string;
}

/**
 * Target, user (searched in the source database), optional JWT claims and stream subscriptions, and the
 * reason (audited).
 */
export function ProbeForm({ targets, initialTarget, initialUser, initialSubscriptions }: Props) {
  const router = useRouter();
  const [target, setTarget] = useState(initialTarget ?? targets[0] ?? '');
  const [user, setUser] = useState(initialUser ?? '');
  const [matches, setMatches] = useState<{ id: string; email: string | null }[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const hydrated = useHydrated();

  useEffect(() => {
    if (!target || user.length < 1) return setMatches([]);
    const controller = new AbortController();
    const timer = setTimeout(async () => {
      const response = await fetch(
        `/api/targets/${encodeURIComponent(target)}/users?q=${encodeURIComponent(user)}`,
        {
          signal: controller.signal
        }
      ).catch(() => null);
      if (response?.ok) setMatches(((await response.json()) as { users: typeof matches }).users);
    }, 150);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [target, user]);

  const submit = async (event: React.FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const claimsText = String(form.get('claims') ?? '').trim();
    let claims: Record<string, unknown> | undefined;
    if (claimsText) {
      try {
        claims = JSON.parse(claimsText);
      } catch (e) {
        return setError(`Claims are not valid JSON: ${(e as Error).message}. Example: {"tenant_id": "t1"}`);
      }
    }
    setBusy(true);
    setError(null);
    const response = await fetch('/api/probes', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        target,
        userId: user.trim(),
        claims,
        subscriptions: form.get('subscriptions') ?? '',
        mode: form.get('mode') ?? 'full',
        reason: form.get('reason')
      })
    });
    const body = (await response.json().catch(() => null)) as {
      jobId?: string;
      error?: { message: string };
    } | null;
    if (response.ok && body?.jobId) return router.push(`/probes/jobs/${body.jobId}`);
    setBusy(false);
    setError(body?.error?.message ?? `The probe could not be queued (HTTP ${response.status}).`);
  };

  const match = matches.find((m) => m.id === user.trim());
  return (
    <form onSubmit={submit} className="grid max-w-xl gap-3" aria-label="probe a user">
      <label className="grid gap-1">
        <span className="text-xs text-zinc-500">Target</span>
        <select
          name="target"
          value={target}
          onChange={(e) => setTarget(e.target.value)}
          className={inputClass}
        >
          {targets.map((t) => (
            <option key={t}>{t}</option>
          ))}
        </select>
      </label>
      <label className="grid gap-1">
        <span className="text-xs text-zinc-500">User (id or email; the probe syncs as this user)</span>
        <input
          name="user"
          data-search
          list="user-matches"
          required
          autoComplete="off"
          value={user}
          onChange={(e) => setUser(e.target.value)}
          className={`${inputClass} font-mono`}
          placeholder="u-alice or alice@"
        />
        <datalist id="user-matches">
          {matches.map((m) => (
            <option key={m.id} value={m.id}>
              {m.email ?? m.id}
            </option>
          ))}
        </datalist>
        {match?.email ? <span className="text-xs text-zinc-500">{match.email}</span> : null}
      </label>
      <label className="grid gap-1">
        <span className="text-xs text-zinc-500">
          Extra JWT claims (JSON, optional, for request.jwt() rules)
        </span>
        <textarea
          name="claims"
          rows={2}
          className={`${inputClass} font-mono`}
          placeholder='{"tenant_id": "t1"}'
        />
      </label>
      <SubscriptionsField target={target} initial={initialSubscriptions} />
      <label className="grid gap-1">
        <span className="text-xs text-zinc-500">Mode</span>
        <select name="mode" defaultValue="full" className={inputClass}>
          <option value="full">full: sync with the real client</option>
          <option value="light">
            light: read the sync stream; a difference is confirmed by a full probe
          </option>
        </select>
      </label>
      <label className="grid gap-1">
        <span className="text-xs text-zinc-500">Reason (goes to the audit log)</span>
        <input
          name="reason"
          required
          minLength={3}
          className={inputClass}
          placeholder="ticket #123: row missing on device"
        />
      </label>
      <FormError message={error} />
      <div>
        <button type="submit" disabled={busy || !target || !hydrated} className={buttonClass}>
          {busy ? 'Queuing…' : 'Run probe'}
        </button>
      </div>
    </form>
  );
}
