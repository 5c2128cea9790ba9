export * from './load-sync-rules.ts';
