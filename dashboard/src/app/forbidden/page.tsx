import { ErrorBox, TextLink } from '@/ui/primitives';

export default async function ForbiddenPage({
  searchParams
}: {
  searchParams: Promise<{ needs?: string; target?: string }>;
}) {
  const { needs, target } = await searchParams;
  return (
    <main className="mx-auto max-w-md p-8">
      <ErrorBox>
        This page needs the {needs ?? 'a higher'} role{target ? ` on ${target}` : ''}. Ask an admin to grant
        it (<code>syncscope users grant</code>, or Users &amp; roles).
      </ErrorBox>
      <p className="mt-3">
        <TextLink href="/">Back to the overview</TextLink>
      </p>
    </main>
  );
}
