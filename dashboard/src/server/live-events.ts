import 'server-only';
import { PROBE_JOBS_CHANNEL, type ProbeJobEvent } from '@syncscope/core/probe-jobs/probe-jobs';
import createSubscriber, { type Subscriber } from 'pg-listen';
import { consoleConfig } from './console-config';

type Listener = (event: ProbeJobEvent) => void;

interface Hub {
  subscriber: Subscriber;
  ready: Promise<void>;
  listeners: Set<Listener>;
}

const globalKey = Symbol.for('syncscope.console.liveEvents');
type WithHub = typeof globalThis & { [globalKey]?: Hub };

/**
 * One LISTEN connection per console process (pg-listen reconnects on its own), fanned out to every
 * browser's SSE stream. Agents NOTIFY on the probe jobs channel; see core/src/probe-jobs.
 */
function hub(): Hub {
  const holder = globalThis as WithHub;
  if (!holder[globalKey]) {
    const subscriber = createSubscriber(
      { connectionString: consoleConfig().opsDatabaseUrl },
      { retryLimit: Number.POSITIVE_INFINITY, retryTimeout: Number.POSITIVE_INFINITY }
    );
    const listeners = new Set<Listener>();
    subscriber.notifications.on(PROBE_JOBS_CHANNEL, (event: ProbeJobEvent) => {
      for (const listener of listeners) listener(event);
    });
    subscriber.events.on('error', () => {});
    const ready = subscriber.connect().then(() => subscriber.listenTo(PROBE_JOBS_CHANNEL));
    holder[globalKey] = { subscriber, ready: ready.then(() => undefined), listeners };
  }
  return holder[globalKey];
}

/** Calls `listener` for every probe job event until the returned function is called. */
export async function onProbeJobEvent(listener: Listener): Promise<() => void> {
  const h = hub();
  await h.ready;
  h.listeners.add(listener);
  return () => h.listeners.delete(listener);
}
