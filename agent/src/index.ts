export * from './cli/run-cli.ts';
export * from './metrics/agent-metrics.ts';
export * from './output/format-report.ts';
export * from './output/secret-scrubber.ts';
export * from './probe/probe-target.ts';
export * from './probe/resolve-target.ts';
export * from './server/agent-server.ts';
