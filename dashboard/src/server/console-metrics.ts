import 'server-only';

export { consoleMetrics } from '@syncscope/core/upload-errors/console-metrics';
