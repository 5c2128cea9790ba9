import type { RowTrace } from '@syncscope/core/probe/explain/explain-row';
import { Badge, Card, Empty, Mono, TextLink, Time } from '@/ui/primitives';
import type { HolderSighting } from './trace-row.server';

/** Postgres → rules → buckets → holders → what their latest probes saw. Values are text only. */
export function RowTraceView({
  trace,
  sightings,
  target
}: {
  trace: RowTrace;
  sightings: HolderSighting[];
  target: string;
}) {
  return (
    <div className="space-y-4">
      <p className="font-medium" data-testid="trace-summary">
        {trace.summary}
      </p>
      <Card title={`In Postgres: ${trace.sourceTable}`}>
        {trace.row ? (
          <table className="font-mono text-xs" data-testid="source-row">
            <tbody>
              {Object.entries(trace.row).map(([column, value]) => (
                <tr key={column}>
                  <td className="pr-4 align-top text-zinc-500">{column}</td>
                  <td className="whitespace-pre-wrap break-all">{value === null ? 'NULL' : value}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <Empty>No row with this id in {trace.sourceTable}.</Empty>
        )}
      </Card>
      <Card title="Rules that read this table">
        {trace.queries.length === 0 ? (
          <Empty>No data query reads this table: the row reaches nobody.</Empty>
        ) : null}
        <ul className="space-y-3">
          {trace.queries.map((q) => (
            <li key={`${q.definition}:${q.line}`}>
              <p>
                <span className="font-medium">{q.definition}</span>{' '}
                <span className="text-xs text-zinc-500">sync_rules.yaml line {q.line}</span>{' '}
                {q.selected ? <Badge value="consistent" /> : <Badge value="mismatch" />}
              </p>
              <Mono>{q.query}</Mono>
              {q.reason ? <p className="text-zinc-600 dark:text-zinc-400">{q.reason}</p> : null}
              {q.error ? <p className="text-rose-700">{q.error}</p> : null}
              {q.buckets.map((b) => (
                <div key={b.bucket} className="mt-1 ml-4 border-l border-zinc-200 pl-3 dark:border-zinc-800">
                  <p>
                    bucket <Mono>{b.bucket}</Mono> → held by {b.holders.description}
                  </p>
                  {b.user ? (
                    <p
                      className={
                        b.user.holds
                          ? 'text-emerald-700 dark:text-emerald-400'
                          : 'text-rose-700 dark:text-rose-400'
                      }
                    >
                      {b.user.holds ? 'The user holds this bucket.' : 'The user does not hold this bucket:'}
                    </p>
                  ) : null}
                  {b.user?.reasons.map((r) => (
                    <p
                      key={r.code + r.message}
                      data-testid="why-not"
                      className="ml-3 text-rose-700 dark:text-rose-400"
                    >
                      {r.message}
                    </p>
                  ))}
                </div>
              ))}
            </li>
          ))}
        </ul>
      </Card>
      <Card title="Latest probes of the bucket holders">
        {sightings.length ? (
          <table className="text-left text-xs">
            <tbody>
              {sightings.map((s) => (
                <tr key={s.userId}>
                  <td className="pr-3">
                    <Mono>{s.userId}</Mono>
                  </td>
                  <td className="pr-3">
                    <TextLink href={`/probes/${s.runId}`}>
                      <Time value={s.startedAt} />
                    </TextLink>
                  </td>
                  <td className="pr-3">
                    <Badge value={s.verdict} />
                  </td>
                  <td>saw the row: {s.saw}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <Empty>
            No probes of the users holding these buckets yet.{' '}
            <TextLink href={`/probe?target=${encodeURIComponent(target)}`}>Probe one</TextLink>.
          </Empty>
        )}
      </Card>
    </div>
  );
}
