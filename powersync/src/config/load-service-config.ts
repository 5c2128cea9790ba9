import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { SyncScopeError } from '@syncscope/core';
import YAML from 'yaml';
import type { z } from 'zod';
import { type ServiceConfig, serviceConfigSchema } from './service-config-schema.ts';

export interface LoadedServiceConfig {
  config: ServiceConfig;
  /** The sync rules YAML text, read from `sync_config.path` / `sync_rules.path` or inline `content`. */
  syncRulesYaml: string;
  syncRulesPath: string | undefined;
  /** Dotted paths present in the file that the dev server does not act on. */
  ignoredKeys: string[];
}

/**
 * `!env NAME` reads an environment variable, as in the real service (`NAME::number` and `NAME::boolean`
 * convert). Unset variables are collected so one error can name them all.
 */
function envTag(env: NodeJS.ProcessEnv, missing: string[]): YAML.ScalarTag {
  return {
    tag: '!env',
    resolve(spec: string) {
      const [name = '', type] = spec.trim().split('::');
      const value = env[name];
      if (value === undefined) {
        missing.push(name);
        return '';
      }
      if (type === 'number') return Number(value);
      if (type === 'boolean') return value.toLowerCase() === 'true';
      return value;
    }
  };
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const key = issue.path.join('.') || '(root)';
  return `${key}: ${issue.message}`;
}

function listIgnoredKeys(raw: Record<string, unknown>): string[] {
  const known = new Set(Object.keys(serviceConfigSchema.shape));
  return Object.keys(raw).filter((k) => !known.has(k));
}

export function parseServiceConfig(
  text: string,
  env: NodeJS.ProcessEnv = process.env
): Omit<LoadedServiceConfig, 'syncRulesYaml' | 'syncRulesPath'> {
  let raw: unknown;
  const missing: string[] = [];
  try {
    raw = YAML.parse(text, { customTags: [envTag(env, missing)] });
  } catch (error) {
    throw new SyncScopeError(
      'SYNCSCOPE_E_CONFIG_INVALID',
      `The service config is not valid YAML: ${(error as Error).message}`
    );
  }
  if (missing.length > 0) {
    const many = missing.length > 1;
    throw new SyncScopeError(
      'SYNCSCOPE_E_CONFIG_INVALID',
      `The config reads environment variable${many ? 's' : ''} ${missing.join(', ')} (with !env), which ${many ? 'are' : 'is'} not set. Set ${many ? 'them' : 'it'} and start again.`
    );
  }
  if (!raw || typeof raw !== 'object') {
    throw new SyncScopeError(
      'SYNCSCOPE_E_CONFIG_INVALID',
      'The service config is empty or not a YAML mapping.'
    );
  }
  const parsed = serviceConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(describeIssue).join('; ');
    throw new SyncScopeError('SYNCSCOPE_E_CONFIG_INVALID', `Invalid service config: ${problems}`, {
      issues: parsed.error.issues.map(describeIssue)
    });
  }
  return { config: parsed.data, ignoredKeys: listIgnoredKeys(raw as Record<string, unknown>) };
}

export async function loadServiceConfig(
  file: string,
  env: NodeJS.ProcessEnv = process.env
): Promise<LoadedServiceConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new SyncScopeError(
      'SYNCSCOPE_E_CONFIG_INVALID',
      `Cannot read the service config ${file}: ${(error as Error).message}`
    );
  }
  const { config, ignoredKeys } = parseServiceConfig(text, env);
  const rules = config.sync_config ?? config.sync_rules;
  if (rules?.content) return { config, ignoredKeys, syncRulesYaml: rules.content, syncRulesPath: undefined };
  if (!rules?.path) {
    throw new SyncScopeError(
      'SYNCSCOPE_E_CONFIG_INVALID',
      'sync_config.path: the config names no sync rules. Add `sync_config: { path: ./sync_rules.yaml }`.'
    );
  }
  const syncRulesPath = path.resolve(path.dirname(file), rules.path);
  try {
    return { config, ignoredKeys, syncRulesPath, syncRulesYaml: await readFile(syncRulesPath, 'utf8') };
  } catch (error) {
    throw new SyncScopeError(
      'SYNCSCOPE_E_CONFIG_INVALID',
      `sync_config.path: cannot read ${syncRulesPath}: ${(error as Error).message}`
    );
  }
}
