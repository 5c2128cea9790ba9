import { ErrorBox, TextLink } from '@/ui/primitives';

export default async function ForbiddenPage({ searchParams }: { searchParams: Promise<{ needs?: string }> }) {
  const { needs } = await searchParams;
  return (
    <main className="mx-auto max-w-md p-8">
      <ErrorBox>
        This page needs the {needs ?? 'a higher'} role. Ask an admin to change your role (
        <code>syncscope users set-role</code>).
      </ErrorBox>
      <p className="mt-3">
        <TextLink href="/">Back to the overview</TextLink>
      </p>
    </main>
  );
}
