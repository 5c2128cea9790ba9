export { type DemoBackend, type DemoBackendOptions, startDemoBackend } from './server.ts';
export type { OperationResult } from './upload/upload-request.ts';
