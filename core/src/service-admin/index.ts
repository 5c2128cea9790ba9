export * from './admin-client.ts';
export * from './admin-schemas.ts';
