export * from './error-codes.ts';
export * from './syncscope-error.ts';
