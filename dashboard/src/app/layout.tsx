import type { Metadata } from 'next';
import { cookies } from 'next/headers';
import type { ReactNode } from 'react';
import './globals.css';

export const metadata: Metadata = {
  title: { default: 'SyncScope', template: '%s · SyncScope' },
  description: 'Operations and debugging console for PowerSync stacks'
};

export default async function RootLayout({ children }: { children: ReactNode }) {
  const theme = (await cookies()).get('syncscope_theme')?.value;
  const themeClass = theme === 'dark' || theme === 'light' ? theme : undefined;
  return (
    <html lang="en" className={themeClass}>
      <body className="min-h-screen bg-white font-sans text-sm text-zinc-900 antialiased dark:bg-zinc-950 dark:text-zinc-100">
        {children}
      </body>
    </html>
  );
}
