// Newer sync-rules editions call Object.groupBy, which Node 20 lacks (added in Node 21).
type GroupBy = <T, K extends PropertyKey>(
  items: Iterable<T>,
  key: (item: T, index: number) => K
) => Partial<Record<K, T[]>>;

const objectWithGroupBy = Object as unknown as { groupBy?: GroupBy };
if (typeof objectWithGroupBy.groupBy !== 'function') {
  objectWithGroupBy.groupBy = <T, K extends PropertyKey>(
    items: Iterable<T>,
    key: (item: T, index: number) => K
  ) => {
    const groups = Object.create(null) as Partial<Record<K, T[]>>;
    let index = 0;
    for (const item of items) {
      const k = key(item, index++);
      const group = groups[k] ?? [];
      group.push(item);
      groups[k] = group;
    }
    return groups;
  };
}
