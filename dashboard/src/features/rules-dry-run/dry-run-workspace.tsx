'use client';
import type { DraftProblem, DryRunReport } from '@syncscope/core/rules-insight/dry-run/dry-run-report';
import { useCallback, useState } from 'react';
import { buttonClass, Card, ErrorBox, FormError, inputClass } from '@/ui/primitives';
import { useHydrated } from '@/ui/use-hydrated';
import { DraftEditor } from './draft-editor';
import { DraftProblemList } from './draft-problem-list';
import { DryRunReportView, type UserLabels } from './dry-run-report-view';
import {
  DRY_RUN_LIMITS,
  draftBytes,
  draftTooLargeMessage,
  type UserSelectionRequest
} from './dry-run-request';

/** What the server said about one text of the draft: its problems, or why it could not check it. */
interface Validation {
  draft: string;
  problems: DraftProblem[];
  error: string | null;
}

async function postJson<T>(
  url: string,
  body: unknown
): Promise<{ ok: true; value: T } | { ok: false; message: string }> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body)
    });
    const json = (await response.json().catch(() => null)) as
      | (T & { error?: { code: string; message: string } })
      | null;
    if (response.ok && json) return { ok: true, value: json };
    return {
      ok: false,
      message: json?.error ? `${json.error.message} (${json.error.code})` : `HTTP ${response.status}`
    };
  } catch (error) {
    return { ok: false, message: `The console did not answer: ${(error as Error).message}` };
  }
}

function useDraftValidation(target: string) {
  const [validation, setValidation] = useState<Validation | null>(null);
  const validate = useCallback(
    async (draft: string): Promise<DraftProblem[]> => {
      const size = draftBytes(draft);
      if (size > DRY_RUN_LIMITS.draftBytes) {
        setValidation({ draft, problems: [], error: draftTooLargeMessage(size) });
        return [];
      }
      const answer = await postJson<{ problems: DraftProblem[] }>('/api/rules/dry-run/validate', {
        target,
        draft
      });
      const result = answer.ok
        ? { draft, problems: answer.value.problems, error: null }
        : { draft, problems: [], error: answer.message };
      setValidation(result);
      return result.problems;
    },
    [target]
  );
  return { validation, validate };
}

function UserChoice({
  canQuery,
  value,
  onChange
}: {
  canQuery: boolean;
  value: UserSelectionRequest;
  onChange(value: UserSelectionRequest): void;
}) {
  const [size, setSize] = useState(100);
  const [sql, setSql] = useState('');
  const radio = (kind: UserSelectionRequest['kind'], label: string, disabled = false, title?: string) => (
    <label className={`flex items-center gap-1 ${disabled ? 'text-zinc-400' : ''}`} title={title}>
      <input
        type="radio"
        name="users"
        checked={value.kind === kind}
        disabled={disabled}
        onChange={() =>
          onChange(kind === 'all' ? { kind } : kind === 'sample' ? { kind, size } : { kind, sql })
        }
      />
      {label}
    </label>
  );
  return (
    <fieldset className="space-y-2" data-testid="user-choice">
      <legend className="mb-1 text-xs text-zinc-500">Users to compare</legend>
      <div className="flex flex-wrap items-center gap-4">
        {radio('all', 'all users')}
        {radio('sample', 'a sample of')}
        <input
          type="number"
          aria-label="sample size"
          className={`${inputClass} w-24`}
          min={1}
          max={DRY_RUN_LIMITS.sampleSize}
          value={size}
          onChange={(e) => {
            setSize(Number(e.target.value));
            onChange({ kind: 'sample', size: Number(e.target.value) });
          }}
        />
        {radio(
          'query',
          'users from SQL',
          !canQuery,
          canQuery
            ? undefined
            : 'Choosing users by SQL needs the admin role on this target: it runs your query on the source.'
        )}
      </div>
      {value.kind === 'query' ? (
        <textarea
          aria-label="users query"
          className={`${inputClass} h-16 w-full font-mono`}
          placeholder="SELECT id FROM users WHERE …"
          maxLength={DRY_RUN_LIMITS.queryChars}
          value={sql}
          onChange={(e) => {
            setSql(e.target.value);
            onChange({ kind: 'query', sql: e.target.value });
          }}
        />
      ) : null}
    </fieldset>
  );
}

function DraftStatus({ validation, draft }: { validation: Validation | null; draft: string }) {
  if (!validation || validation.draft !== draft)
    return (
      <p className="text-xs text-zinc-500" data-testid="draft-status">
        Checking the draft on the server…
      </p>
    );
  if (validation.error) return <ErrorBox>{validation.error}</ErrorBox>;
  const errors = validation.problems.filter((p) => p.severity === 'error').length;
  const warnings = validation.problems.length - errors;
  return (
    <div className="space-y-2">
      <p
        className={`text-xs ${errors ? 'text-rose-700 dark:text-rose-400' : 'text-zinc-500'}`}
        data-testid="draft-status"
      >
        {errors
          ? `${errors} error(s), ${warnings} warning(s): fix the errors to run.`
          : `The draft validates${warnings ? ` with ${warnings} warning(s)` : ''}: ready to run.`}
      </p>
      {validation.problems.length ? <DraftProblemList problems={validation.problems} /> : null}
    </div>
  );
}

/**
 * The dry-run page's interactive part: the draft in an editor (checked on the server as you type),
 * who to compare, and the report. Every check is the server's; the page only disables Run early.
 */
export function DryRunWorkspace({
  target,
  currentRules,
  canQuery
}: {
  target: string;
  currentRules: string;
  canQuery: boolean;
}) {
  const hydrated = useHydrated();
  const [draft, setDraft] = useState(currentRules);
  const [users, setUsers] = useState<UserSelectionRequest>({ kind: 'all' });
  const [running, setRunning] = useState(false);
  const [result, setResult] = useState<{ report: DryRunReport; labels: UserLabels } | null>(null);
  const [runError, setRunError] = useState<string | null>(null);
  const { validation, validate } = useDraftValidation(target);
  const ready =
    validation?.draft === draft &&
    !validation.error &&
    !validation.problems.some((p) => p.severity === 'error');

  const run = async () => {
    setRunning(true);
    setRunError(null);
    const answer = await postJson<{ report: DryRunReport; labels: UserLabels }>('/api/rules/dry-run', {
      target,
      draft,
      users
    });
    setRunning(false);
    if (answer.ok) setResult(answer.value);
    else setRunError(answer.message);
  };

  return (
    <>
      <div className="mb-4 grid gap-4 xl:grid-cols-[3fr_2fr]">
        <DraftEditor value={draft} onChange={setDraft} validate={validate} />
        <Card title="Run">
          <div className="space-y-3">
            <DraftStatus validation={validation} draft={draft} />
            <UserChoice canQuery={canQuery} value={users} onChange={setUsers} />
            <button
              type="button"
              className={buttonClass}
              disabled={!hydrated || !ready || running}
              onClick={run}
            >
              {running ? 'Running…' : 'Run dry run'}
            </button>
            <FormError message={runError} />
          </div>
        </Card>
      </div>
      {result ? <DryRunReportView report={result.report} labels={result.labels} /> : null}
    </>
  );
}
