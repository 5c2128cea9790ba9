/**
 * What a sync stream's query says in words: the request values it reads and its subqueries. The compiled
 * stream keeps neither in readable form; these only name things in explanations, while which value a
 * bucket parameter reads is decided by the rules library's own evaluation (`stream-holders.ts`).
 */
import type { Expr } from 'pgsql-ast-parser';
import { type AstNode, parseSelect, textOf, walk } from '../expected/rule-analysis.ts';

/** A request value a stream query reads. */
export interface StreamRequestValue {
  /** user_id: `auth.user_id()` (the token's `sub`); auth: a token claim; subscription, connection: a parameter. */
  source: 'user_id' | 'auth' | 'subscription' | 'connection';
  /** The claim or parameter name (`sub` for the user id). */
  name: string;
  /** As written in the rule, e.g. `subscription.parameter('workspace_id')`. */
  sql: string;
}

/** A subquery of a stream query: `(SELECT workspace_id FROM memberships WHERE …)`. */
export interface StreamSubquery {
  schema: string | null;
  table: string;
  /** The column it selects, when that is a bare column. */
  column: string | null;
  sql: string;
}

const SCHEMAS = new Set(['auth', 'subscription', 'connection']);

function functionOf(n: AstNode | undefined): { schema?: string; name?: string } | undefined {
  return n?.type === 'call' ? (n.function as { schema?: string; name?: string }) : undefined;
}

function requestValue(schema: string, name: string, sql: string): StreamRequestValue {
  if (schema === 'auth' && name === 'sub') return { source: 'user_id', name, sql };
  return { source: schema as StreamRequestValue['source'], name, sql };
}

/**
 * Request values read by name: `auth.user_id()`, `auth.parameter('k')`, `subscription.parameter('k')`,
 * `connection.parameter('k')` and their `….parameters() ->> 'k'` spellings. Unique by source and name.
 */
export function streamRequestValues(sql: string): StreamRequestValue[] {
  const out: StreamRequestValue[] = [];
  walk(parseSelect(sql), (n) => {
    const fn = functionOf(n);
    const text = () => textOf(sql, n as unknown as Expr);
    if (fn?.schema === 'auth' && fn.name === 'user_id') {
      out.push({ source: 'user_id', name: 'sub', sql: text() });
    } else if (fn?.schema && SCHEMAS.has(fn.schema) && fn.name === 'parameter') {
      const [key] = n.args as AstNode[];
      if (key?.type === 'string') out.push(requestValue(fn.schema, key.value as string, text()));
    } else if (n.type === 'member' && n.op === '->>' && typeof n.member === 'string') {
      const operand = functionOf(n.operand as AstNode);
      if (operand?.schema && SCHEMAS.has(operand.schema) && operand.name === 'parameters')
        out.push(requestValue(operand.schema, n.member, text()));
    }
  });
  return out.filter((v, i) => out.findIndex((o) => o.source === v.source && o.name === v.name) === i);
}

/** The subqueries of a stream query, in the order they are written. */
export function streamSubqueries(sql: string): StreamSubquery[] {
  const root = parseSelect(sql);
  const out: StreamSubquery[] = [];
  walk(root?.where, (n) => {
    if (n.type !== 'select') return;
    const [from] = (n.from as AstNode[] | undefined) ?? [];
    const name = from?.type === 'table' ? (from.name as { schema?: string; name: string }) : undefined;
    if (!name) return;
    const [selected] = (n.columns as { expr: AstNode }[] | undefined) ?? [];
    const column =
      selected?.expr.type === 'ref' && selected.expr.name !== '*' ? (selected.expr.name as string) : null;
    out.push({
      schema: name.schema ?? null,
      table: name.name,
      column,
      sql: textOf(sql, n as unknown as Expr)
    });
  });
  return out;
}
