'use client';
import { useSyncExternalStore } from 'react';

const query = '(prefers-color-scheme: dark)';

/** The console's theme as its CSS applies it: the `dark`/`light` class on <html>, else the system's. */
function isDark(): boolean {
  const html = document.documentElement.classList;
  return html.contains('dark') || (!html.contains('light') && window.matchMedia(query).matches);
}

function subscribe(onChange: () => void): () => void {
  const media = window.matchMedia(query);
  const classes = new MutationObserver(onChange);
  media.addEventListener('change', onChange);
  classes.observe(document.documentElement, { attributes: true, attributeFilter: ['class'] });
  return () => {
    media.removeEventListener('change', onChange);
    classes.disconnect();
  };
}

/** Whether the page shows dark now (the theme toggle and the system setting both change it). */
export function useDarkTheme(): boolean {
  return useSyncExternalStore(subscribe, isDark, () => false);
}
