import type { ProbeVerdict } from '@syncscope/core/probe/verdicts';
import { Card, Mono } from '@/ui/primitives';

/** A run's reason code under its badge in lists. */
export function ReasonCode({ code }: { code: string | null }) {
  if (!code) return null;
  return (
    <span className="block font-mono text-[10px] text-zinc-500" data-testid="reason-code">
      {code}
    </span>
  );
}

const HEADINGS: Record<Exclude<ProbeVerdict, 'consistent'>, string> = {
  mismatch: 'Why it is a mismatch',
  inconclusive: 'Why it is inconclusive: SyncScope could not tell, this is not a mismatch',
  error: 'Why SyncScope failed'
};

/** The reason of a run that is not consistent: its catalogue code (docs/errors.md) and message. */
export function VerdictReason({
  verdict,
  code,
  message
}: {
  verdict: string;
  code: string | null;
  message: string | undefined;
}) {
  if (!code || !(verdict in HEADINGS)) return null;
  return (
    <Card title={HEADINGS[verdict as keyof typeof HEADINGS]}>
      <p data-testid="verdict-reason">
        <Mono>{code}</Mono>
        {message ? `: ${message}` : ''}
      </p>
    </Card>
  );
}
