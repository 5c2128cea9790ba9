'use client';
import { useState } from 'react';

const NEXT = { system: 'dark', dark: 'light', light: 'system' } as const;
type Theme = keyof typeof NEXT;

/** Cycles system → dark → light; kept in a cookie so the server renders the right theme first time. */
export function ThemeToggle({ initial }: { initial: Theme }) {
  const [theme, setTheme] = useState<Theme>(initial);
  const cycle = () => {
    const next = NEXT[theme];
    setTheme(next);
    // biome-ignore lint/suspicious/noDocumentCookie: a plain preference cookie the server reads for the first paint
    document.cookie = `syncscope_theme=${next}; path=/; max-age=31536000; samesite=strict`;
    document.documentElement.classList.remove('dark', 'light');
    if (next !== 'system') document.documentElement.classList.add(next);
  };
  return (
    <button
      type="button"
      onClick={cycle}
      className="text-xs text-zinc-500 hover:text-zinc-900 dark:hover:text-zinc-100"
      title="Theme"
    >
      theme: {theme}
    </button>
  );
}
