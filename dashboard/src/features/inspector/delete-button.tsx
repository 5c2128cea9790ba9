'use client';
import { useRouter } from 'next/navigation';

export function DeleteInspectionButton({ id }: { id: string }) {
  const router = useRouter();
  const remove = async () => {
    await fetch(`/api/inspector/${id}`, { method: 'DELETE' });
    router.push('/inspector');
  };
  return (
    <button
      type="button"
      onClick={remove}
      className="text-xs text-rose-700 hover:underline dark:text-rose-400"
    >
      delete the file now
    </button>
  );
}
