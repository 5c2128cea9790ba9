import { SyncScopeError } from '@syncscope/core/errors/index';

export const ALLOWED_HOSTS_ENV = 'SYNCSCOPE_AGENT_ALLOWED_HOSTS';
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];
const HOST_NAME = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$|^[0-9a-f:.]+$/i;

/** `name`, `name:port`, `[v6]` or `[v6]:port` → lower-case name and port (undefined when absent). */
export function parseHostHeader(value: string): { name: string; port: number | undefined } | null {
  const match = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/i.exec(value.trim());
  if (!match) return null;
  return {
    name: (match[1] ?? match[2]!).toLowerCase(),
    port: match[3] === undefined ? undefined : Number(match[3])
  };
}

/** The names given with --allowed-host and SYNCSCOPE_AGENT_ALLOWED_HOSTS (comma-separated), checked. */
export function allowedHostNames(flags: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const names = [...flags, ...(env[ALLOWED_HOSTS_ENV] ?? '').split(',')]
    .map((n) => n.trim().toLowerCase())
    .filter(Boolean);
  for (const name of names) {
    if (!HOST_NAME.test(name) || name.length > 253)
      throw new SyncScopeError(
        'SYNCSCOPE_E_CONFIG_INVALID',
        `--allowed-host "${name}" is not a host name: give a name such as syncscope-agent or agent.internal.example, without port or scheme.`
      );
  }
  return names;
}

/**
 * Whether a request's Host header names this agent: its bind address or a loopback name with the port
 * it listens on, or a name the operator allowed (any port: a proxy may publish it on another). Anything
 * else is what a DNS-rebinding page sends (`Host: evil.example`), so it is refused.
 */
export function hostAllowed(
  header: string | undefined,
  agent: { bindHost: string; port: number; allowedHosts: readonly string[] }
): boolean {
  if (!header) return false;
  const host = parseHostHeader(header);
  if (!host) return false;
  if (agent.allowedHosts.includes(host.name)) return true;
  const bind = agent.bindHost.replace(/^\[|\]$/g, '').toLowerCase();
  return [...LOOPBACK_NAMES, bind].includes(host.name) && host.port === agent.port;
}
