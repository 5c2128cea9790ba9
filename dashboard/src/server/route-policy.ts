import type { ConsoleRole } from '@syncscope/core/console-users/console-users';

/**
 * Who may use each route, in one table the guards read (`requirePage`, `authorizeRoute`) and a test
 * checks against the routes under src/app: a route without a rule fails that test.
 *
 * `access`: a console role (on the route's target), `public`, or a non-session credential.
 * `target`, how the route's target is found:
 * - `none`: not about a target;
 * - `all`: the role is needed on all targets (an all-targets grant): users and roles;
 * - `listed`: the page lists targets' data, each list filtered to the targets the user has the role
 *   on (with `?target=` narrowing it, refused for a target they lack);
 * - `param`: the route's `[name]`; `body`: the request's `target` field; `query`: its `?target=`;
 * - `probe-run`, `probe-job`, `error-group`, `inspection`: the stored record's target (an inspection
 *   without a target counts as all targets).
 */
export type TargetSource =
  | 'none'
  | 'all'
  | 'listed'
  | 'param'
  | 'body'
  | 'query'
  | 'probe-run'
  | 'probe-job'
  | 'error-group'
  | 'inspection';

export type Access = ConsoleRole | 'public' | 'ingest-key' | 'metrics-token';
export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteRule {
  access: Access;
  target: TargetSource;
}

export interface RoutePolicy {
  kind: 'page' | 'api';
  methods: Partial<Record<Method, RouteRule>>;
}

const page = (access: Access, target: TargetSource) => ({
  kind: 'page' as const,
  methods: { GET: { access, target } }
});
const api = (methods: RoutePolicy['methods']) => ({ kind: 'api' as const, methods });

export const ROUTE_POLICY = {
  '/': page('viewer', 'listed'),
  '/fleet': page('viewer', 'listed'),
  '/probe': page('operator', 'listed'),
  '/probes': page('viewer', 'listed'),
  '/probes/[id]': page('viewer', 'probe-run'),
  '/probes/jobs/[id]': page('viewer', 'probe-job'),
  '/trace': page('viewer', 'listed'),
  '/rules': page('viewer', 'listed'),
  // Reads every rule table of the source for a draft; choosing users by SQL also needs admin (checked in the handler).
  '/rules/dry-run': page('operator', 'listed'),
  '/uploads': page('viewer', 'listed'),
  '/uploads/[group]': page('viewer', 'error-group'),
  '/inspector': page('operator', 'listed'),
  '/inspector/[id]': page('operator', 'inspection'),
  '/audit': page('admin', 'listed'),
  '/admin/users': page('admin', 'all'),
  '/admin/audit-verify': page('admin', 'all'),
  '/login': page('public', 'none'),
  '/forbidden': page('public', 'none'),
  '/api/admin/users': api({ POST: { access: 'admin', target: 'all' } }),
  '/api/auth/login': api({ POST: { access: 'public', target: 'none' } }),
  '/api/auth/logout': api({ POST: { access: 'public', target: 'none' } }),
  // Called by app backends' reporters, not browsers: the ingest key names the target.
  '/api/ingest/v1/upload-results': api({ POST: { access: 'ingest-key', target: 'none' } }),
  '/api/inspector': api({ POST: { access: 'operator', target: 'query' } }),
  '/api/inspector/[id]': api({ DELETE: { access: 'operator', target: 'inspection' } }),
  '/api/probes': api({ POST: { access: 'operator', target: 'body' } }),
  '/api/probes/jobs/[id]/events': api({ GET: { access: 'viewer', target: 'probe-job' } }),
  '/api/rules/dry-run': api({ POST: { access: 'operator', target: 'body' } }),
  '/api/rules/dry-run/validate': api({ POST: { access: 'operator', target: 'body' } }),
  '/api/targets/[name]/streams': api({ GET: { access: 'operator', target: 'param' } }),
  '/api/targets/[name]/users': api({ GET: { access: 'operator', target: 'param' } }),
  '/metrics': api({ GET: { access: 'metrics-token', target: 'none' } }),
  // For the kubelet's probes: they say only whether the process and the ops database answer.
  '/healthz': api({ GET: { access: 'public', target: 'none' } }),
  '/readyz': api({ GET: { access: 'public', target: 'none' } })
} as const satisfies Record<string, RoutePolicy>;

export type RoutePath = keyof typeof ROUTE_POLICY;
export type PagePath = {
  [P in RoutePath]: (typeof ROUTE_POLICY)[P]['kind'] extends 'page' ? P : never;
}[RoutePath];
export type ApiPath = Exclude<RoutePath, PagePath>;

export function ruleOf(path: RoutePath, method: string): RouteRule | undefined {
  return (ROUTE_POLICY[path] as RoutePolicy).methods[method as Method];
}
