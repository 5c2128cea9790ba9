export * from './errors/index.ts';
export * from './logging/logger.ts';
export * from './net/ports.ts';
export * from './tokens/index.ts';
