'use client';
import type { ConsoleUser } from '@syncscope/core/console-users/console-users';
import { describeGrant } from '@syncscope/core/console-users/describe-grant';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { buttonClass, inputClass } from '@/ui/primitives';

const ROLES = ['viewer', 'operator', 'admin'] as const;
/** The target select's value for an all-targets grant (target names cannot be empty). */
const ALL = '';

async function post(
  body: unknown
): Promise<{ ok: boolean; data: { password?: string; error?: { message: string } } }> {
  const response = await fetch('/api/admin/users', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body)
  });
  return { ok: response.ok, data: await response.json() };
}

function TargetSelect({ targets, label }: { targets: string[]; label: string }) {
  return (
    <select name="target" defaultValue={ALL} className={inputClass} aria-label={label}>
      <option value={ALL}>all targets</option>
      {targets.map((t) => (
        <option key={t}>{t}</option>
      ))}
    </select>
  );
}

function RoleSelect({ label }: { label: string }) {
  return (
    <select name="role" defaultValue="viewer" className={inputClass} aria-label={label}>
      {ROLES.map((r) => (
        <option key={r}>{r}</option>
      ))}
    </select>
  );
}

/** Users with their grants; admins add users and grant or revoke a role per target (each audited). */
export function UsersAdmin({ users, targets }: { users: ConsoleUser[]; targets: string[] }) {
  const router = useRouter();
  const [message, setMessage] = useState<string | null>(null);
  const send = async (body: Record<string, unknown>, done: (data: { password?: string }) => string) => {
    const { ok, data } = await post(body);
    setMessage(ok ? done(data) : (data.error?.message ?? 'Failed.'));
    router.refresh();
  };
  const fields = (event: React.FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const target = String(form.get('target') ?? ALL);
    return { email: form.get('email'), role: form.get('role'), target: target === ALL ? null : target };
  };
  const add = (event: React.FormEvent<HTMLFormElement>) =>
    send(
      { action: 'add', ...fields(event) },
      (d) => `Added. Password (shown once, hand it over securely): ${d.password}`
    );
  const grant = (event: React.FormEvent<HTMLFormElement>) => {
    const f = fields(event);
    return send(
      { action: 'grant', ...f },
      () => `${f.email} is now ${f.role} on ${f.target ?? 'all targets'}.`
    );
  };
  return (
    <div className="space-y-4">
      {message ? (
        <p role="status" className="rounded bg-zinc-100 p-2 font-mono text-xs dark:bg-zinc-900">
          {message}
        </p>
      ) : null}
      <table className="text-left text-xs" data-testid="console-users">
        <tbody>
          {users.map((u) => (
            <tr key={u.id} className="align-top">
              <td className="py-1 pr-4">{u.email}</td>
              <td>
                <ul>
                  {u.grants.map((g) => (
                    <li key={g.target ?? ALL}>
                      {describeGrant(g)}{' '}
                      <button
                        type="button"
                        className="text-rose-700 hover:underline dark:text-rose-400"
                        onClick={() =>
                          send(
                            { action: 'revoke', email: u.email, target: g.target },
                            () => `Revoked ${describeGrant(g)} from ${u.email}.`
                          )
                        }
                      >
                        revoke
                      </button>
                    </li>
                  ))}
                </ul>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form onSubmit={grant} className="flex items-end gap-2" aria-label="grant a role">
        <select name="email" className={inputClass} aria-label="user">
          {users.map((u) => (
            <option key={u.id}>{u.email}</option>
          ))}
        </select>
        <RoleSelect label="role to grant" />
        <TargetSelect targets={targets} label="on target" />
        <button type="submit" className={buttonClass}>
          Grant
        </button>
      </form>
      <form onSubmit={add} className="flex items-end gap-2" aria-label="add a user">
        <input name="email" type="email" required placeholder="email" className={inputClass} />
        <RoleSelect label="role of the new user" />
        <TargetSelect targets={targets} label="target of the new user" />
        <button type="submit" className={buttonClass}>
          Add user
        </button>
      </form>
    </div>
  );
}
