import type { WriteProbeReport } from '@syncscope/core/write-probe/write-probe-types';
import { Badge, Card, Mono } from '@/ui/primitives';

/** A stored write probe: each leg of the write path with its time, the failed one named. */
export function WriteProbeResult({ report }: { report: WriteProbeReport }) {
  return (
    <Card title="Write path legs">
      <table className="text-left text-sm" data-testid="write-probe-legs">
        <tbody>
          {report.legs.map((leg) => (
            <tr key={leg.leg} className={leg.status === 'failed' ? 'text-rose-700 dark:text-rose-400' : ''}>
              <td className="py-0.5 pr-4 font-mono text-xs">{leg.leg}</td>
              <td className="pr-4">
                <Badge value={leg.status} />
              </td>
              <td className="pr-4 text-right tabular-nums">{leg.ms === undefined ? '' : `${leg.ms} ms`}</td>
              <td>{leg.detail ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="mt-2 text-xs text-zinc-500">
        Row <Mono>{`${report.table}/${report.rowId}`}</Mono> marked “{report.marker}”; cleanup:{' '}
        {report.cleanup}.
      </p>
    </Card>
  );
}
