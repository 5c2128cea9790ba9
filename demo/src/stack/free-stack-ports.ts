import { findFreePort } from '@syncscope/core';

export interface StackPorts {
  SYNCSCOPE_PG_PORT: string;
  SYNCSCOPE_SYNC_PORT: string;
  SYNCSCOPE_SYNC_METRICS_PORT: string;
  SYNCSCOPE_DEMO_PORT: string;
  SYNCSCOPE_DASHBOARD_PORT: string;
  SYNCSCOPE_AGENT_METRICS_PORT: string;
}

/** Every port the embedded stack listens on: free and distinct (a free port can be handed out twice). */
export async function freeStackPorts(): Promise<StackPorts> {
  const taken = new Set<string>();
  const next = async () => {
    for (;;) {
      const port = String(await findFreePort());
      if (!taken.has(port)) {
        taken.add(port);
        return port;
      }
    }
  };
  return {
    SYNCSCOPE_PG_PORT: await next(),
    SYNCSCOPE_SYNC_PORT: await next(),
    SYNCSCOPE_SYNC_METRICS_PORT: await next(),
    SYNCSCOPE_DEMO_PORT: await next(),
    SYNCSCOPE_DASHBOARD_PORT: await next(),
    SYNCSCOPE_AGENT_METRICS_PORT: await next()
  };
}
