import type { Metadata } from 'next';
import { listAuditLog } from '@/features/audit/audit-log.server';
import { requirePage } from '@/features/auth/guard.server';
import {
  buttonClass,
  Empty,
  inputClass,
  Mono,
  PageHeader,
  Pager,
  rowClass,
  TableHead,
  TextLink,
  Time
} from '@/ui/primitives';

export const metadata: Metadata = { title: 'Audit log' };
const PAGE = 100;
const ACTIONS = [
  'probe.requested',
  'probe.token_minted',
  'explain.run',
  'user.added',
  'user.role_changed',
  'user.role_granted',
  'user.role_revoked',
  'user.reset',
  'console.signed_in',
  'database.inspected',
  'inspection.deleted',
  'ingest_key.added',
  'ingest_key.revoked'
];

type Query = { action?: string; actor?: string; subject?: string; offset?: string };

export default async function AuditPage({ searchParams }: { searchParams: Promise<Query> }) {
  const access = await requirePage('/audit');
  const query = await searchParams;
  const offset = Math.max(0, Number(query.offset) || 0);
  const filters = { action: query.action, actor: query.actor, subject: query.subject };
  const { rows, total } = await listAuditLog({ ...filters, scope: access.scope }, offset, PAGE);
  return (
    <>
      <PageHeader title="Audit log" />
      <p className="mb-3 text-xs text-zinc-500">
        Append-only: the database refuses updates and deletes of these entries, from the console or anyone
        else, and each entry is hash-chained to the one before it:{' '}
        <TextLink href="/admin/audit-verify">verify the chain</TextLink>.
      </p>
      <form className="mb-3 flex flex-wrap items-end gap-2 text-xs" aria-label="filters">
        <select name="action" defaultValue={query.action ?? ''} className={inputClass} aria-label="action">
          <option value="">all actions</option>
          {ACTIONS.map((a) => (
            <option key={a}>{a}</option>
          ))}
        </select>
        <input name="actor" placeholder="actor email" defaultValue={query.actor} className={inputClass} />
        <input
          name="subject"
          data-search
          placeholder="impersonated user"
          defaultValue={query.subject}
          className={`${inputClass} font-mono`}
        />
        <button type="submit" className={buttonClass}>
          Filter
        </button>
      </form>
      {rows.length ? (
        <table className="w-full text-left text-xs" data-testid="audit-log">
          <TableHead labels={['When', 'Who', 'Action', 'Target', 'User', 'Reason', 'Details']} />
          <tbody>
            {rows.map((r) => (
              <tr key={r.id} className={rowClass}>
                <td className="py-1 pr-3">
                  <Time value={r.at} />
                </td>
                <td className="pr-3">{r.actor}</td>
                <td className="pr-3">{r.action}</td>
                <td className="pr-3">{r.target ?? ''}</td>
                <td className="pr-3">
                  <Mono>{r.subjectUser ?? ''}</Mono>
                </td>
                <td className="pr-3">{r.reason ?? ''}</td>
                <td>
                  <Mono>{Object.keys(r.details).length ? JSON.stringify(r.details) : ''}</Mono>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <Empty>No audit entries match.</Empty>
      )}
      <Pager basePath="/audit" params={filters} offset={offset} limit={PAGE} total={total} />
    </>
  );
}
