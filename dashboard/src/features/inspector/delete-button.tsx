'use client';
import { useRouter } from 'next/navigation';
import { useHydrated } from '@/ui/use-hydrated';

export function DeleteInspectionButton({ id }: { id: string }) {
  const router = useRouter();
  const hydrated = useHydrated();
  const remove = async () => {
    await fetch(`/api/inspector/${id}`, { method: 'DELETE' });
    router.push('/inspector');
  };
  return (
    <button
      type="button"
      onClick={remove}
      disabled={!hydrated}
      className="text-xs text-rose-700 hover:underline dark:text-rose-400"
    >
      delete the file now
    </button>
  );
}
