import { findFreePort } from '@syncscope/core';

export interface StackPorts {
  SYNCSCOPE_PG_PORT: string;
  SYNCSCOPE_SYNC_PORT: string;
  SYNCSCOPE_SYNC_METRICS_PORT: string;
  SYNCSCOPE_DEMO_PORT: string;
  SYNCSCOPE_DASHBOARD_PORT: string;
  SYNCSCOPE_AGENT_METRICS_PORT: string;
}

/** Every port the embedded stack listens on, free ones (tests and benchmarks run it beside others). */
export async function freeStackPorts(): Promise<StackPorts> {
  return {
    SYNCSCOPE_PG_PORT: String(await findFreePort()),
    SYNCSCOPE_SYNC_PORT: String(await findFreePort()),
    SYNCSCOPE_SYNC_METRICS_PORT: String(await findFreePort()),
    SYNCSCOPE_DEMO_PORT: String(await findFreePort()),
    SYNCSCOPE_DASHBOARD_PORT: String(await findFreePort()),
    SYNCSCOPE_AGENT_METRICS_PORT: String(await findFreePort())
  };
}
