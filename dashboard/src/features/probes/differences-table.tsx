'use client';
import type { RowDifference } from '@syncscope/core/probe/probe-types';
import { createColumnHelper, flexRender, getCoreRowModel, useReactTable } from '@tanstack/react-table';
import Link from 'next/link';
import { Fragment } from 'react';

const column = createColumnHelper<RowDifference>();

const show = (value: unknown) => (value === undefined ? '∅ (absent)' : JSON.stringify(value));

/** One page of a probe's row differences (TanStack Table); every value is text, never markup. */
export function DifferencesTable({
  rows,
  target,
  userId
}: {
  rows: RowDifference[];
  target: string;
  userId: string;
}) {
  const columns = [
    column.accessor('kind', {
      header: 'Kind',
      cell: (c) => (
        <span
          className={
            c.getValue() === 'missing'
              ? 'text-rose-700 dark:text-rose-400'
              : c.getValue() === 'extra'
                ? 'text-amber-700 dark:text-amber-400'
                : 'text-sky-700 dark:text-sky-400'
          }
        >
          {c.getValue()}
        </span>
      )
    }),
    column.accessor((d) => `${d.table}/${d.id}`, {
      id: 'row',
      header: 'Row',
      cell: (c) => (
        <Link
          className="font-mono text-xs text-sky-700 hover:underline dark:text-sky-400"
          href={`/trace?target=${encodeURIComponent(target)}&table=${encodeURIComponent(c.row.original.table)}&id=${encodeURIComponent(c.row.original.id)}&user=${encodeURIComponent(userId)}`}
        >
          {c.getValue()}
        </Link>
      )
    }),
    column.accessor((d) => d.buckets.join(', '), {
      id: 'buckets',
      header: 'Buckets',
      cell: (c) => <span className="font-mono text-xs">{c.getValue()}</span>
    }),
    column.accessor(
      (d) => (d.settled === 'cleared' ? `cleared after ${d.clearedAfterMs ?? '?'} ms (lag)` : 'persisted'),
      {
        id: 'settled',
        header: 'Settle window'
      }
    ),
    column.accessor('explanation', {
      header: 'Explanation',
      cell: (c) => <span className="whitespace-pre-wrap">{c.getValue()}</span>
    })
  ];
  const table = useReactTable({ data: rows, columns, getCoreRowModel: getCoreRowModel() });
  return (
    <table className="w-full border-collapse text-left text-sm" data-testid="differences">
      <thead className="text-xs text-zinc-500">
        {table.getHeaderGroups().map((group) => (
          <tr key={group.id}>
            {group.headers.map((h) => (
              <th key={h.id} className="border-b border-zinc-200 py-1 pr-3 font-medium dark:border-zinc-800">
                {flexRender(h.column.columnDef.header, h.getContext())}
              </th>
            ))}
          </tr>
        ))}
      </thead>
      <tbody>
        {table.getRowModel().rows.map((row) => (
          <Fragment key={row.id}>
            <tr className="align-top">
              {row.getVisibleCells().map((cell) => (
                <td key={cell.id} className="border-b border-zinc-100 py-1 pr-3 dark:border-zinc-900">
                  {flexRender(cell.column.columnDef.cell, cell.getContext())}
                </td>
              ))}
            </tr>
            {row.original.fields?.length ? (
              <tr>
                <td />
                <td colSpan={4} className="pb-2">
                  <table className="font-mono text-xs">
                    <tbody>
                      {row.original.fields.map((f) => (
                        <tr key={f.field}>
                          <td className="pr-3 text-zinc-500">{f.field}</td>
                          <td className="pr-3 text-emerald-800 dark:text-emerald-300">
                            expected {show(f.expected)}
                          </td>
                          <td className="text-rose-800 dark:text-rose-300">actual {show(f.actual)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </td>
              </tr>
            ) : null}
          </Fragment>
        ))}
      </tbody>
    </table>
  );
}
