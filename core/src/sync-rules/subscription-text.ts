/**
 * A stream subscription written as one argument, `NAME`, `NAME=PARAMS` or `NAME@PRIORITY=PARAMS`
 * (`list_todos={"list_id":"l1"}`): how the CLI takes `--subscribe` and how reports print subscriptions.
 */
import type { BucketPriority } from '@powersync/service-sync-rules';
import { SyncScopeError } from '../errors/index.ts';
import type { StreamSubscription } from './stream-subscriptions.ts';

const EXAMPLE = `--subscribe 'list_todos={"list_id":"l1"}'`;
const PRIORITIES: readonly BucketPriority[] = [0, 1, 2, 3];

function invalid(text: string, problem: string): SyncScopeError {
  return new SyncScopeError(
    'SYNCSCOPE_E_STREAM_SUBSCRIPTION_INVALID',
    `--subscribe '${text}': ${problem}; write NAME, NAME=PARAMS or NAME@PRIORITY=PARAMS with PARAMS a JSON object, e.g. ${EXAMPLE}`
  );
}

function parsePriority(text: string, priority: string): BucketPriority {
  const value = PRIORITIES.find((p) => String(p) === priority);
  if (value === undefined) throw invalid(text, `the priority "${priority}" is not 0, 1, 2 or 3`);
  return value;
}

function parseParameters(text: string, json: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw invalid(text, `the parameters are not valid JSON (${(error as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(text, 'the parameters must be a JSON object of subscription parameters');
  }
  return value as Record<string, unknown>;
}

export function parseSubscriptionText(text: string): StreamSubscription {
  const match = /^([^=@]*)(?:@([^=]*))?(?:=(.*))?$/s.exec(text)!;
  const [, name = '', priority, parameters] = match;
  if (!name.trim()) throw invalid(text, 'the stream name is missing');
  return {
    stream: name.trim(),
    parameters: parameters === undefined ? null : parseParameters(text, parameters),
    priority: priority === undefined ? null : parsePriority(text, priority)
  };
}

/** The argument that makes the same subscription again (`list_todos@1={"list_id":"l1"}`). */
export function formatSubscription(subscription: StreamSubscription): string {
  const priority = subscription.priority === null ? '' : `@${subscription.priority}`;
  const parameters = subscription.parameters === null ? '' : `=${JSON.stringify(subscription.parameters)}`;
  return `${subscription.stream}${priority}${parameters}`;
}
