'use client';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { useHydrated } from '@/ui/use-hydrated';

/** Queues a synthetic write probe for a target (operators), then follows its progress. */
export function WriteProbeButton({ target }: { target: string }) {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const hydrated = useHydrated();
  const run = async () => {
    setError(null);
    const response = await fetch('/api/probes', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'write', target, reason: 'write probe from the console overview' })
    });
    const body = (await response.json().catch(() => null)) as {
      jobId?: string;
      error?: { message: string };
    } | null;
    if (response.ok && body?.jobId) router.push(`/probes/jobs/${body.jobId}`);
    else setError(body?.error?.message ?? `HTTP ${response.status}`);
  };
  return (
    <span>
      <button
        type="button"
        onClick={run}
        disabled={!hydrated}
        className="text-xs text-sky-700 hover:underline dark:text-sky-400"
      >
        run write probe
      </button>
      {error ? <span className="ml-2 text-xs text-rose-700">{error}</span> : null}
    </span>
  );
}
