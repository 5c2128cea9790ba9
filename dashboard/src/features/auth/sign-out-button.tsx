'use client';
import { useHydrated } from '@/ui/use-hydrated';

export function SignOutButton() {
  const hydrated = useHydrated();
  const signOut = async () => {
    await fetch('/api/auth/logout', { method: 'POST' });
    window.location.assign('/login');
  };
  return (
    <button
      type="button"
      onClick={signOut}
      disabled={!hydrated}
      className="text-xs text-zinc-500 hover:text-zinc-900 dark:hover:text-zinc-100"
    >
      sign out
    </button>
  );
}
