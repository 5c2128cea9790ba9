import { Mono } from '@/ui/primitives';

/**
 * A user as an operator recognises them: the email (or name) the target's user search found, with the
 * id below it and in the tooltip (ids are what tokens, logs and the CLI use); just the id otherwise.
 */
export function UserLabel({ userId, label }: { userId: string; label: string | undefined }) {
  if (!label) return <Mono nowrap>{userId}</Mono>;
  return (
    <span className="inline-grid" title={userId} data-testid="user-label">
      <span className="whitespace-nowrap">{label}</span>
      <span className="font-mono text-[10px] text-zinc-500 whitespace-nowrap">{userId}</span>
    </span>
  );
}
