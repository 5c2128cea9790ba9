import { verifyAuditChain } from '@syncscope/core/ops-db/audit-chain';
import type { Metadata } from 'next';
import { requirePage } from '@/features/auth/guard.server';
import { opsPool } from '@/server/ops-pool';
import { buttonClass, Card, ErrorBox, inputClass, Mono, PageHeader, TextLink } from '@/ui/primitives';

export const metadata: Metadata = { title: 'Verify the audit log' };

/**
 * Admins only: recomputes the audit log's hash chain (the same verifier as `syncscope audit verify`) and
 * shows it intact, or the first edited, deleted or reordered entry. `?head=` checks a head recorded
 * earlier is still in the chain.
 */
export default async function AuditVerifyPage({
  searchParams
}: {
  searchParams: Promise<{ head?: string }>;
}) {
  await requirePage('/admin/audit-verify');
  const head = (await searchParams).head?.trim().toLowerCase() || undefined;
  const headValid = head === undefined || /^[0-9a-f]{64}$/.test(head);
  const verdict = headValid ? await verifyAuditChain(opsPool(), { expectHead: head }) : null;
  return (
    <>
      <PageHeader title="Verify the audit log" />
      <p className="mb-3 max-w-2xl text-xs text-zinc-500">
        Every entry carries the SHA-256 of its content and of the entry before it. An entry edited, deleted or
        reordered, even by a database superuser, breaks the chain here. A superuser could rewrite the whole
        chain: keep the head shown below somewhere else and check it later, or see the head each agent logs at
        start.
      </p>
      <form className="mb-3 flex flex-wrap items-end gap-2 text-xs" aria-label="expected head">
        <input
          name="head"
          placeholder="a head recorded earlier (64 hex digits)"
          defaultValue={head}
          className={`${inputClass} w-[40rem] font-mono`}
        />
        <button type="submit" className={buttonClass}>
          Verify
        </button>
      </form>
      {!verdict ? (
        <ErrorBox>
          The expected head must be the 64 hex digits of a head shown here or by `syncscope audit verify`.
        </ErrorBox>
      ) : verdict.intact ? (
        <Card title="Intact">
          <p data-testid="audit-verdict" data-intact="true" className="text-sm">
            Intact: {verdict.entries} entries{head ? ', and the expected head is in the chain' : ''}. Head{' '}
            <Mono>{verdict.head.hash}</Mono> (entry {verdict.head.seq}).
          </p>
        </Card>
      ) : (
        <ErrorBox>
          <p data-testid="audit-verdict" data-intact="false">
            Tampered with ({verdict.problem})
            {verdict.entry ? (
              <>
                {' '}
                at entry id <Mono>{verdict.entry.id}</Mono> (chain place {verdict.entry.seq}, at{' '}
                {verdict.entry.at})
              </>
            ) : null}
            : {verdict.detail}. The {verdict.entries} entries before it are intact.
          </p>
        </ErrorBox>
      )}
      <p className="mt-3 text-xs">
        <TextLink href="/audit">Back to the audit log</TextLink>
      </p>
    </>
  );
}
