import { describe, expect, it } from 'vitest';
import { type CrudOperation, compactCrud } from './compact-crud.ts';

const op = (
  o: CrudOperation['op'],
  id: string,
  data?: Record<string, unknown>,
  table = 'records'
): CrudOperation => ({
  op: o,
  table,
  id,
  ...(data ? { data } : {})
});

describe('compacting the upload queue by table::id', () => {
  it.each([
    ['PUT then PUT', [op('PUT', 'a', { t: 1, x: 1 }), op('PUT', 'a', { t: 2 })], op('PUT', 'a', { t: 2 })],
    [
      'PUT then PATCH',
      [op('PUT', 'a', { t: 1, x: 1 }), op('PATCH', 'a', { t: 2 })],
      op('PUT', 'a', { t: 2, x: 1 })
    ],
    [
      'PATCH then PATCH',
      [op('PATCH', 'a', { t: 1 }), op('PATCH', 'a', { x: 2 })],
      op('PATCH', 'a', { t: 1, x: 2 })
    ],
    ['PATCH then PUT', [op('PATCH', 'a', { t: 1 }), op('PUT', 'a', { x: 2 })], op('PUT', 'a', { x: 2 })],
    ['PUT then DELETE', [op('PUT', 'a', { t: 1 }), op('DELETE', 'a')], op('DELETE', 'a')],
    ['PATCH then DELETE', [op('PATCH', 'a', { t: 1 }), op('DELETE', 'a')], op('DELETE', 'a')],
    ['DELETE then PUT', [op('DELETE', 'a'), op('PUT', 'a', { t: 3 })], op('PUT', 'a', { t: 3 })],
    ['DELETE then PATCH', [op('DELETE', 'a'), op('PATCH', 'a', { t: 3 })], op('DELETE', 'a')],
    [
      'PUT, PATCH, PATCH',
      [op('PUT', 'a', { t: 1 }), op('PATCH', 'a', { t: 2 }), op('PATCH', 'a', { u: 3 })],
      op('PUT', 'a', { t: 2, u: 3 })
    ]
  ])('%s', (_name, input, expected) => {
    expect(compactCrud(input)).toEqual([expected]);
  });

  it('keeps rows apart by table and id, in the order each row first appeared', () => {
    const result = compactCrud([
      op('PUT', 'c1', { name: 'cat' }, 'categories'),
      op('PUT', 'r1', { category_id: 'c1' }),
      op('PATCH', 'c1', { usage_count: 1 }, 'categories'),
      op('PUT', 'c1', { title: 'same id, other table' })
    ]);
    expect(result.map((o) => `${o.table}::${o.id}:${o.op}`)).toEqual([
      'categories::c1:PUT',
      'records::r1:PUT',
      'records::c1:PUT'
    ]);
    expect(result[0]!.data).toEqual({ name: 'cat', usage_count: 1 });
  });

  it('does not modify its input', () => {
    const input = [op('PUT', 'a', { t: 1 }), op('PATCH', 'a', { t: 2 })];
    compactCrud(input);
    expect(input[0]!.data).toEqual({ t: 1 });
  });
});
