'use client';
import type { ProbeJobEvent } from '@syncscope/core/probe-jobs/probe-jobs';
import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';
import { Badge } from '@/ui/primitives';

const WRITE_PHASES: [string, string][] = [
  ['queued', 'Waiting for an agent'],
  ['local-write', 'Local write (writeTransaction)'],
  ['backend-accepted', 'Upload accepted by the app backend'],
  ['visible-in-postgres', 'Visible in Postgres'],
  ['replicated-back', 'Replicated back to the client'],
  ['write-checkpoint', 'Write checkpoint complete']
];

const PHASES: [string, string][] = [
  ['queued', 'Waiting for an agent'],
  ['mint', 'Minting a probe token'],
  ['schema', 'Deriving the client schema'],
  ['sync', 'Syncing as the user'],
  ['expected', 'Computing the expected state'],
  ['diff', 'Diffing'],
  ['settle', 'Re-checking differences (settle window)'],
  ['write-checkpoint', 'Checking the write-checkpoint echo']
];

declare global {
  interface Window {
    /** Notify → browser latencies (ms) of this page, read by bench/console-performance.bench.ts. */
    __syncscopeEventLatencies?: number[];
  }
}

/** Live progress of one probe job over SSE; opens the stored result when the job is done. */
export function ProbeProgress({
  jobId,
  initial,
  kind = 'read'
}: {
  jobId: string;
  initial: ProbeJobEvent;
  kind?: 'read' | 'write';
}) {
  const router = useRouter();
  const [event, setEvent] = useState<ProbeJobEvent>(initial);
  const [seen, setSeen] = useState<Set<string>>(
    new Set(initial.progress.phase ? [initial.progress.phase] : [])
  );

  useEffect(() => {
    const source = new EventSource(`/api/probes/jobs/${jobId}/events`);
    source.onmessage = (message) => {
      const next = JSON.parse(message.data) as ProbeJobEvent;
      window.__syncscopeEventLatencies = [
        ...(window.__syncscopeEventLatencies ?? []),
        Date.now() - next.sentAt
      ];
      setEvent(next);
      if (next.progress.phase) setSeen((s) => new Set(s).add(next.progress.phase!));
      if (next.status === 'done' && next.runId) {
        source.close();
        router.replace(`/probes/${next.runId}`);
      }
      if (next.status === 'failed') source.close();
    };
    return () => source.close();
  }, [jobId, router]);

  const current = event.status === 'queued' ? 'queued' : event.progress.phase;
  const ops = event.progress.ops;
  return (
    <div aria-live="polite" data-testid="probe-progress">
      <p className="mb-3 flex items-center gap-2">
        <Badge value={event.status} /> <span data-testid="probe-phase">{current ?? 'starting'}</span>
      </p>
      <ol className="space-y-1">
        {(kind === 'write' ? WRITE_PHASES : PHASES).map(([phase, label]) => {
          const active = phase === current;
          const done = !active && (seen.has(phase) || (phase === 'queued' && event.status !== 'queued'));
          return (
            <li key={phase} className={active ? 'font-medium' : done ? 'text-zinc-500' : 'text-zinc-400'}>
              <span className="inline-block w-5">{active ? '▸' : done ? '✓' : '·'}</span>
              {label}
              {phase === 'sync' && ops && event.status === 'running' ? (
                <span className="ml-2 font-mono text-xs tabular-nums" data-testid="sync-ops">
                  {ops.done.toLocaleString('en')} /{' '}
                  {ops.total === null ? '?' : ops.total.toLocaleString('en')} ops
                </span>
              ) : null}
            </li>
          );
        })}
      </ol>
      {event.status === 'failed' ? (
        <p role="alert" className="mt-3 text-rose-700 dark:text-rose-400">
          The probe job failed: {event.error}
        </p>
      ) : null}
    </div>
  );
}
