/**
 * A job worker that claims one job and then hangs (test fixture): the test kills it with SIGKILL to
 * check that another agent recovers the job. Prints "claimed <id>" once it holds a job.
 */
import { createLogger } from '../../logging/logger.ts';
import { startProbeJobWorker } from '../probe-job-worker.ts';

const [opsDatabaseUrl, agent] = process.argv.slice(2) as [string, string];
await startProbeJobWorker({
  opsDatabaseUrl,
  agent,
  logger: createLogger('hanging-worker', 'silent'),
  concurrency: 1,
  pollMs: 100,
  heartbeatMs: 200,
  leaseMs: 1_000,
  run: (job) => {
    process.stdout.write(`claimed ${job.id}\n`);
    return new Promise(() => {});
  }
});
