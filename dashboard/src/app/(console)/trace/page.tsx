import { isSyncScopeError } from '@syncscope/core';
import type { Metadata } from 'next';
import { requirePage } from '@/features/auth/guard.server';
import { RowTraceView } from '@/features/row-trace/row-trace-view';
import { latestSightings, traceRow } from '@/features/row-trace/trace-row.server';
import { listTargets } from '@/server/targets';
import { buttonClass, ErrorBox, inputClass, PageHeader } from '@/ui/primitives';

export const metadata: Metadata = { title: 'Row trace' };

type Query = { target?: string; table?: string; id?: string; user?: string };

export default async function TracePage({ searchParams }: { searchParams: Promise<Query> }) {
  const access = await requirePage('/trace');
  const query = await searchParams;
  if (query.target) access.requireTarget(query.target);
  const targets = access.allowed(await listTargets());
  const target = query.target ?? targets[0];
  let result: React.ReactNode = null;
  if (target && query.table && query.id) {
    try {
      const trace = await traceRow({
        target,
        table: query.table,
        id: query.id,
        userId: query.user,
        actor: access.user.email
      });
      const holders = new Set(trace.queries.flatMap((q) => q.buckets.flatMap((b) => b.holders.userIds)));
      const tables = [...new Set(trace.queries.map((q) => q.outputTable))];
      const sightings = await latestSightings(target, [...holders], tables, query.id);
      result = <RowTraceView trace={trace} sightings={sightings} target={target} />;
    } catch (error) {
      result = (
        <ErrorBox>
          {isSyncScopeError(error) ? `${error.code}: ` : ''}
          {(error as Error).message}
        </ErrorBox>
      );
    }
  }
  return (
    <>
      <PageHeader title="Where is my row?" />
      <form className="mb-4 flex flex-wrap items-end gap-2 text-xs" aria-label="trace a row">
        <label className="grid gap-0.5">
          <span className="text-zinc-500">Target</span>
          <select name="target" defaultValue={target} className={inputClass}>
            {targets.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label className="grid gap-0.5">
          <span className="text-zinc-500">Table</span>
          <input
            name="table"
            required
            defaultValue={query.table}
            className={`${inputClass} font-mono`}
            placeholder="records"
          />
        </label>
        <label className="grid gap-0.5">
          <span className="text-zinc-500">Row id</span>
          <input
            name="id"
            required
            data-search
            defaultValue={query.id}
            className={`${inputClass} w-80 font-mono`}
          />
        </label>
        <label className="grid gap-0.5">
          <span className="text-zinc-500">For user (optional: why they do or do not get it)</span>
          <input name="user" defaultValue={query.user} className={`${inputClass} font-mono`} />
        </label>
        <button type="submit" className={buttonClass}>
          Trace
        </button>
      </form>
      {result}
    </>
  );
}
