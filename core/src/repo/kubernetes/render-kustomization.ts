import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

/**
 * Renders a kustomization as `kubectl kustomize` does, for the subset deploy/kubernetes uses, so the test
 * suite checks the rendered objects without a cluster or a kustomize binary (none is on npm; Debian's
 * kubectl is 1.20 and clashes with other kubectl packages). Any other field fails with its name: add it
 * here, and compare with `kubectl kustomize` once, before relying on it.
 *
 * Subset: `resources` (files and kustomization folders), `namespace`, `images` (newName, newTag, digest),
 * `replicas`, `configMapGenerator` (literals, files; behavior create, merge, replace) with kustomize's
 * name hash suffix and the references to it in pod templates rewritten.
 */
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
};

interface Generated {
  name: string;
  data: Record<string, string>;
}

interface Rendered {
  objects: K8sObject[];
  configMaps: Generated[];
}

const FIELDS = new Set([
  'apiVersion',
  'kind',
  'resources',
  'namespace',
  'images',
  'replicas',
  'configMapGenerator'
]);

function unsupported(file: string, what: string): Error {
  return new Error(`${file}: ${what} is not in the subset render-kustomization.ts renders; add it there.`);
}

function readYamlDocuments(file: string): K8sObject[] {
  return YAML.parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => {
    if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0]!.message}`);
    return doc.toJS() as K8sObject;
  });
}

function generate(dir: string, file: string, spec: Record<string, unknown>): Generated {
  const data: Record<string, string> = {};
  for (const key of Object.keys(spec))
    if (!['name', 'behavior', 'literals', 'files'].includes(key))
      throw unsupported(file, `configMapGenerator.${key}`);
  for (const literal of (spec.literals as string[] | undefined) ?? []) {
    const at = literal.indexOf('=');
    if (at < 1) throw new Error(`${file}: literal "${literal}" is not KEY=VALUE`);
    data[literal.slice(0, at)] = literal.slice(at + 1);
  }
  for (const source of (spec.files as string[] | undefined) ?? []) {
    if (source.includes('=')) throw unsupported(file, `configMapGenerator file key "${source}"`);
    data[path.basename(source)] = readFileSync(path.join(dir, source), 'utf8');
  }
  return { name: spec.name as string, data };
}

/** Resources and generated ConfigMaps of one folder, before the top level's namespace, images and hashes. */
function accumulate(dir: string): Rendered & { kustomization: Record<string, unknown>; file: string } {
  const file = path.join(dir, 'kustomization.yaml');
  const kustomization = YAML.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  for (const key of Object.keys(kustomization)) if (!FIELDS.has(key)) throw unsupported(file, key);
  const objects: K8sObject[] = [];
  const configMaps: Generated[] = [];
  for (const resource of (kustomization.resources as string[] | undefined) ?? []) {
    const full = path.join(dir, resource);
    if (statSync(full).isDirectory()) {
      const child = render(full);
      objects.push(...child.objects);
      configMaps.push(...child.configMaps);
    } else objects.push(...readYamlDocuments(full));
  }
  for (const spec of (kustomization.configMapGenerator as Record<string, unknown>[] | undefined) ?? []) {
    const generated = generate(dir, file, spec);
    const behavior = (spec.behavior as string | undefined) ?? 'create';
    const existing = configMaps.find((c) => c.name === generated.name);
    if (behavior === 'create') {
      if (existing)
        throw new Error(`${file}: ConfigMap ${generated.name} exists; use behavior merge or replace`);
      configMaps.push(generated);
    } else if (!existing) {
      throw new Error(
        `${file}: behavior ${behavior} on ConfigMap ${generated.name}, which no base generates`
      );
    } else if (behavior === 'merge') Object.assign(existing.data, generated.data);
    else if (behavior === 'replace') existing.data = generated.data;
    else throw unsupported(file, `configMapGenerator behavior ${behavior}`);
  }
  return { objects, configMaps, kustomization, file };
}

/** Go's json.Marshal of a string: as JSON.stringify, plus its HTML-safe escapes. */
function goJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
  );
}

/**
 * kustomize's name suffix: SHA-256 of the ConfigMap's JSON (Go's encoding, keys sorted; kustomize 5
 * hashes it before the name is set, so with `"name":""`), its first 10 hex digits with some swapped.
 */
export function configMapHash(data: Record<string, string>): string {
  const sorted = Object.fromEntries(
    Object.keys(data)
      .sort()
      .map((k) => [k, data[k]])
  );
  const encoded = `{"data":${goJson(sorted)},"kind":"ConfigMap","name":""}`;
  const hex = createHash('sha256').update(encoded).digest('hex').slice(0, 10);
  const swaps: Record<string, string> = { '0': 'g', '1': 'h', '3': 'k', a: 'm', e: 't' };
  return hex.replace(/[013ae]/g, (c) => swaps[c]!);
}

type PodSpec = {
  containers?: Container[];
  initContainers?: Container[];
  volumes?: { configMap?: { name: string } }[];
};
type Container = {
  image?: string;
  envFrom?: { configMapRef?: { name: string } }[];
  env?: { valueFrom?: { configMapKeyRef?: { name: string } } }[];
};

export function podSpecOf(object: K8sObject): PodSpec | undefined {
  const spec = object.spec as { template?: { spec?: PodSpec }; jobTemplate?: unknown } | undefined;
  return spec?.template?.spec;
}

function rename(ref: { name: string } | undefined, names: Map<string, string>): void {
  if (ref && names.has(ref.name)) ref.name = names.get(ref.name)!;
}

/** The objects `kubectl kustomize DIR` prints for `dir` (a folder with kustomization.yaml). */
export function render(dir: string): Rendered {
  const { objects, configMaps, kustomization, file } = accumulate(dir);
  const namespace = kustomization.namespace as string | undefined;
  if (namespace) for (const object of objects) object.metadata.namespace = namespace;
  for (const rule of (kustomization.replicas as { name: string; count: number }[] | undefined) ?? []) {
    const target = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === rule.name);
    if (!target) throw new Error(`${file}: replicas for ${rule.name}, which is no Deployment here`);
    (target.spec as { replicas?: number }).replicas = rule.count;
  }
  const images = (kustomization.images as Record<string, string>[] | undefined) ?? [];
  for (const image of images)
    for (const key of Object.keys(image))
      if (!['name', 'newName', 'newTag', 'digest'].includes(key)) throw unsupported(file, `images.${key}`);
  for (const object of objects) {
    const pod = podSpecOf(object);
    for (const container of [...(pod?.containers ?? []), ...(pod?.initContainers ?? [])]) {
      if (!container.image) continue;
      const [, name, tag] = /^([^:@]+(?::\d+\/[^:@]+)?)(?:[:@].*)?$/.exec(container.image) ?? [];
      const rule = images.find((i) => i.name === name);
      if (!rule) continue;
      const newName = rule.newName ?? name;
      container.image = rule.digest
        ? `${newName}@${rule.digest}`
        : rule.newTag
          ? `${newName}:${rule.newTag}`
          : `${newName}${tag ? container.image.slice(name!.length) : ''}`;
    }
  }
  return { objects, configMaps };
}

/** The top level: generated ConfigMaps named with their hash, and every reference to them renamed. */
export function renderKustomization(dir: string): K8sObject[] {
  const { objects, configMaps } = render(dir);
  const namespace = (
    YAML.parse(readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8')) as {
      namespace?: string;
    }
  ).namespace;
  const names = new Map(configMaps.map((c) => [c.name, `${c.name}-${configMapHash(c.data)}`]));
  for (const object of objects) {
    const pod = podSpecOf(object);
    for (const volume of pod?.volumes ?? []) rename(volume.configMap, names);
    for (const container of [...(pod?.containers ?? []), ...(pod?.initContainers ?? [])]) {
      for (const source of container.envFrom ?? []) rename(source.configMapRef, names);
      for (const variable of container.env ?? []) rename(variable.valueFrom?.configMapKeyRef, names);
    }
  }
  const generated: K8sObject[] = configMaps.map((c) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: names.get(c.name)!, ...(namespace ? { namespace } : {}) },
    data: c.data
  }));
  return [...generated, ...objects];
}
