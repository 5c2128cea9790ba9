import path from 'node:path';

export type OpsRole = 'owner' | 'console' | 'agent';

/** The ops database's roles: the owner runs migrations and owns every object; the others only log in. */
export const OPS_ROLE_NAMES: Record<OpsRole, string> = {
  owner: 'syncscope_owner',
  console: 'syncscope_console',
  agent: 'syncscope_agent'
};

/** Where `npm start` keeps each role's generated password (0600, under `<home>/secrets`). */
export function opsRolePasswordFile(home: string, role: OpsRole): string {
  return path.join(home, 'secrets', `ops-${role}-db-password`);
}
