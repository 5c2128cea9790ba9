'use client';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { buttonClass, FormError, inputClass } from '@/ui/primitives';

/** Uploads an exported client database (raw body, streamed) with its target, user and retention. */
export function InspectorUploadForm({ targets }: { targets: string[] }) {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: React.FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const file = form.get('file') as File | null;
    if (!file || file.size === 0) return setError('Choose the exported database file.');
    setBusy(true);
    setError(null);
    const params = new URLSearchParams({
      name: file.name,
      target: String(form.get('target') ?? ''),
      user: String(form.get('user') ?? ''),
      retention: String(form.get('retention') ?? '60')
    });
    const response = await fetch(`/api/inspector?${params}`, { method: 'POST', body: file });
    const body = (await response.json().catch(() => null)) as {
      id?: string;
      error?: { message: string };
    } | null;
    setBusy(false);
    if (response.ok && body?.id) return router.push(`/inspector/${body.id}`);
    setError(body?.error?.message ?? `Upload failed (HTTP ${response.status}).`);
  };
  return (
    <form onSubmit={submit} className="grid max-w-xl gap-3" aria-label="inspect a client database">
      <label className="grid gap-1">
        <span className="text-xs text-zinc-500">Exported PowerSync database (SQLite)</span>
        <input name="file" type="file" required className="text-sm" />
      </label>
      <label className="grid gap-1">
        <span className="text-xs text-zinc-500">Target (to diff against the source)</span>
        <select name="target" className={inputClass}>
          <option value="">none: queue and buckets only</option>
          {targets.map((t) => (
            <option key={t}>{t}</option>
          ))}
        </select>
      </label>
      <label className="grid gap-1">
        <span className="text-xs text-zinc-500">The user it belongs to (for the diff)</span>
        <input name="user" className={`${inputClass} font-mono`} />
      </label>
      <label className="grid gap-1">
        <span className="text-xs text-zinc-500">Delete the file after</span>
        <select name="retention" defaultValue="60" className={inputClass}>
          <option value="15">15 minutes</option>
          <option value="60">1 hour</option>
          <option value="1440">24 hours</option>
        </select>
      </label>
      <FormError message={error} />
      <div>
        <button type="submit" disabled={busy} className={buttonClass}>
          {busy ? 'Uploading…' : 'Inspect'}
        </button>
      </div>
    </form>
  );
}
