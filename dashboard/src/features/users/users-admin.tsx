'use client';
import type { ConsoleUser } from '@syncscope/core/console-users/console-users';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { buttonClass, inputClass } from '@/ui/primitives';

const ROLES = ['viewer', 'operator', 'admin'] as const;

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

export function UsersAdmin({ users }: { users: ConsoleUser[] }) {
  const router = useRouter();
  const [message, setMessage] = useState<string | null>(null);
  const setRole = async (email: string, role: string) => {
    const { ok, data } = await post({ action: 'set-role', email, role });
    setMessage(ok ? `${email} is now ${role}.` : (data.error?.message ?? 'Failed.'));
    router.refresh();
  };
  const add = async (event: React.FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const { ok, data } = await post({ action: 'add', email: form.get('email'), role: form.get('role') });
    setMessage(
      ok
        ? `Added. Password (shown once, hand it over securely): ${data.password}`
        : (data.error?.message ?? 'Failed.')
    );
    router.refresh();
  };
  return (
    <div className="space-y-4">
      {message ? (
        <p role="status" className="rounded bg-zinc-100 p-2 font-mono text-xs dark:bg-zinc-900">
          {message}
        </p>
      ) : null}
      <table className="text-left" data-testid="console-users">
        <tbody>
          {users.map((u) => (
            <tr key={u.id}>
              <td className="py-1 pr-4">{u.email}</td>
              <td>
                <select
                  aria-label={`role of ${u.email}`}
                  defaultValue={u.role}
                  onChange={(e) => setRole(u.email, e.target.value)}
                  className={inputClass}
                >
                  {ROLES.map((r) => (
                    <option key={r}>{r}</option>
                  ))}
                </select>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form onSubmit={add} className="flex items-end gap-2" aria-label="add a user">
        <input name="email" type="email" required placeholder="email" className={inputClass} />
        <select name="role" defaultValue="viewer" className={inputClass}>
          {ROLES.map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
        <button type="submit" className={buttonClass}>
          Add user
        </button>
      </form>
    </div>
  );
}
