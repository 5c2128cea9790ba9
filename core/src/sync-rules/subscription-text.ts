/**
 * A stream subscription written as text, `NAME`, `NAME=PARAMS` or `NAME@PRIORITY=PARAMS`
 * (`list_todos={"list_id":"l1"}`): how the CLI takes `--subscribe`, how the console's probe form takes
 * one per line, and how reports print subscriptions.
 */
import type { BucketPriority, HydratedSyncConfig } from '@powersync/service-sync-rules';
import { SyncScopeError } from '../errors/index.ts';
import { type StreamSubscription, unknownStreamError } from './stream-subscriptions.ts';

export const SUBSCRIPTION_EXAMPLE = 'list_todos={"list_id":"l1"}';
export const SUBSCRIPTION_FORMS = 'NAME, NAME=PARAMS or NAME@PRIORITY=PARAMS with PARAMS a JSON object';
const PRIORITIES: readonly BucketPriority[] = [0, 1, 2, 3];

/** One subscription's text read: the subscription, or what is wrong with it (worded by the caller). */
export type SubscriptionTextResult = { subscription: StreamSubscription } | { problem: string };

type Read<T> = { value: T } | { problem: string };

function readPriority(text: string | undefined): Read<BucketPriority | null> {
  if (text === undefined) return { value: null };
  const value = PRIORITIES.find((p) => String(p) === text);
  return value === undefined ? { problem: `the priority "${text}" is not 0, 1, 2 or 3` } : { value };
}

function readParameters(json: string | undefined): Read<Record<string, unknown> | null> {
  if (json === undefined) return { value: null };
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    return { problem: `the parameters are not valid JSON (${(error as Error).message})` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return { problem: 'the parameters must be a JSON object of subscription parameters' };
  return { value: value as Record<string, unknown> };
}

export function readSubscriptionText(text: string): SubscriptionTextResult {
  const match = /^([^=@]*)(?:@([^=]*))?(?:=(.*))?$/s.exec(text)!;
  const [, name = '', priorityText, parametersText] = match;
  if (!name.trim()) return { problem: 'the stream name is missing' };
  const priority = readPriority(priorityText);
  if ('problem' in priority) return priority;
  const parameters = readParameters(parametersText);
  if ('problem' in parameters) return parameters;
  return { subscription: { stream: name.trim(), parameters: parameters.value, priority: priority.value } };
}

/** `--subscribe TEXT` (the CLI): the subscription, or a SyncScopeError naming the argument. */
export function parseSubscriptionText(text: string): StreamSubscription {
  const read = readSubscriptionText(text);
  if ('subscription' in read) return read.subscription;
  throw new SyncScopeError(
    'SYNCSCOPE_E_STREAM_SUBSCRIPTION_INVALID',
    `--subscribe '${text}': ${read.problem}; write ${SUBSCRIPTION_FORMS}, e.g. --subscribe '${SUBSCRIPTION_EXAMPLE}'`
  );
}

/**
 * Subscriptions written one per line (the console's probe form; blank lines are skipped but counted),
 * each checked against the rules' streams. The first bad line comes back as an error naming the line
 * and the fix: malformed (SYNCSCOPE_E_STREAM_SUBSCRIPTION_INVALID) or a stream the rules lack
 * (SYNCSCOPE_E_STREAM_UNKNOWN, listing the rules' streams).
 */
export function parseSubscriptionLines(
  text: string,
  rules: HydratedSyncConfig
): { subscriptions: StreamSubscription[] } | { error: SyncScopeError } {
  const subscriptions: StreamSubscription[] = [];
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (!line) continue;
    const where = `Subscriptions, line ${index + 1} (${line})`;
    const read = readSubscriptionText(line);
    if ('problem' in read)
      return {
        error: new SyncScopeError(
          'SYNCSCOPE_E_STREAM_SUBSCRIPTION_INVALID',
          `${where}: ${read.problem}. Write one subscription per line as ${SUBSCRIPTION_FORMS}, e.g. ${SUBSCRIPTION_EXAMPLE}`
        )
      };
    const unknown = unknownStreamError(rules, read.subscription.stream);
    if (unknown)
      return { error: new SyncScopeError(unknown.code, `${where}: ${unknown.message}`, unknown.details) };
    subscriptions.push(read.subscription);
  }
  return { subscriptions };
}

/** The argument that makes the same subscription again (`list_todos@1={"list_id":"l1"}`). */
export function formatSubscription(subscription: StreamSubscription): string {
  const priority = subscription.priority === null ? '' : `@${subscription.priority}`;
  const parameters = subscription.parameters === null ? '' : `=${JSON.stringify(subscription.parameters)}`;
  return `${subscription.stream}${priority}${parameters}`;
}
