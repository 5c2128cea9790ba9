import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { listTargetNames } from '../../probe/targets/load-targets.ts';
import { type K8sObject, podSpecOf, render, renderKustomization } from './render-kustomization.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const DEPLOY = path.join(ROOT, 'deploy', 'kubernetes');
const KUSTOMIZATIONS = ['base', 'overlays/example'];

/** The Kubernetes API's schema for each kind we ship (kubernetes-models validates with its JSON schema). */
const MODELS: Record<string, { validate(): void } & (new (data: never) => { validate(): void })> = {
  'apps/v1 Deployment': Deployment,
  'batch/v1 Job': Job,
  'networking.k8s.io/v1 NetworkPolicy': NetworkPolicy,
  'policy/v1 PodDisruptionBudget': PodDisruptionBudget,
  'v1 ConfigMap': ConfigMap,
  'v1 Service': Service,
  'v1 ServiceAccount': ServiceAccount
} as never;

const rendered = Object.fromEntries(
  KUSTOMIZATIONS.map((k) => [k, renderKustomization(path.join(DEPLOY, k))])
) as Record<string, K8sObject[]>;
const id = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;
const workloads = (objects: K8sObject[]) => objects.filter((o) => podSpecOf(o));

type Probe = { httpGet?: { path: string; port: string | number } };
type Container = {
  name: string;
  image: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[]; add?: string[] } };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
};
type Pod = {
  securityContext?: Record<string, unknown>;
  automountServiceAccountToken?: boolean;
  containers: Container[];
  initContainers?: Container[];
  volumes?: ({ name: string } & Record<string, unknown>)[];
};
const pod = (o: K8sObject) => podSpecOf(o) as unknown as Pod;
const containers = (o: K8sObject) => [...pod(o).containers, ...(pod(o).initContainers ?? [])];
const template = (o: K8sObject) =>
  (
    o.spec as {
      template: { metadata: { labels?: Record<string, string>; annotations?: Record<string, string> } };
    }
  ).template.metadata;

/** Each failure as "<object> <container>: <field> <problem>", so a red test says what to fix where. */
function problems(check: (add: (where: string, problem: string) => void) => void): string[] {
  const found: string[] = [];
  check((where, problem) => found.push(`${where}: ${problem}`));
  return found;
}

/** Names that carry credentials: never a literal value or ConfigMap key. */
const SECRET_NAME = /TOKEN|PASSWORD|SECRET|JWK|PRIVATE|CREDENTIAL|DATABASE_URL|SOURCE_URL|_KEY$/i;
/** Values that are credentials whatever their key. */
const SECRET_VALUE = [
  /[a-z]+:\/\/[^/\s:@]+:[^/\s@]+@/i, // a URL with a password
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /"d"\s*:\s*"/, // a private JWK member
  /eyJ[\w-]+\.eyJ[\w-]+\./ // a JWT
];

describe.each(KUSTOMIZATIONS)('deploy/kubernetes/%s', (kustomization) => {
  const objects = rendered[kustomization]!;

  it('renders the console, the agents and the setup job', () => {
    expect(workloads(objects).map(id).sort()).toEqual([
      'Deployment/syncscope-agent',
      'Deployment/syncscope-console',
      'Job/syncscope-setup'
    ]);
  });

  it('validates every object against the Kubernetes API schema', () => {
    const found = problems((add) => {
      for (const object of objects) {
        const Model = MODELS[`${object.apiVersion} ${object.kind}`];
        if (!Model)
          add(id(object), `${object.apiVersion} ${object.kind} has no schema in MODELS; add its model`);
        else
          try {
            new Model(object as never).validate();
          } catch (error) {
            add(id(object), (error as Error).message);
          }
      }
    });
    expect(found).toEqual([]);
  });

  it('runs every container non-root, read-only, without capabilities or escalation, under seccomp RuntimeDefault', () => {
    const found = problems((add) => {
      for (const object of workloads(objects)) {
        const podContext = pod(object).securityContext ?? {};
        if (pod(object).automountServiceAccountToken !== false)
          add(id(object), 'spec.template.spec.automountServiceAccountToken must be false');
        for (const c of containers(object)) {
          const where = `${id(object)} container ${c.name}`;
          const sc = c.securityContext ?? {};
          const effective = { ...podContext, ...sc } as Record<string, unknown>;
          if (effective.runAsNonRoot !== true) add(where, 'securityContext.runAsNonRoot must be true');
          if (effective.runAsUser === 0) add(where, 'securityContext.runAsUser must not be 0');
          if (sc.readOnlyRootFilesystem !== true)
            add(where, 'securityContext.readOnlyRootFilesystem must be true');
          if (sc.allowPrivilegeEscalation !== false)
            add(where, 'securityContext.allowPrivilegeEscalation must be false');
          if (sc.privileged === true) add(where, 'securityContext.privileged must not be true');
          if (!sc.capabilities?.drop?.includes('ALL'))
            add(where, 'securityContext.capabilities.drop must hold ALL');
          if (sc.capabilities?.add?.length) add(where, 'securityContext.capabilities.add must be empty');
          if ((effective.seccompProfile as { type?: string } | undefined)?.type !== 'RuntimeDefault')
            add(where, 'securityContext.seccompProfile.type must be RuntimeDefault');
        }
      }
    });
    expect(found).toEqual([]);
  });

  it('gives every container CPU and memory requests and limits, and an image pinned to a tag or digest', () => {
    const found = problems((add) => {
      for (const object of workloads(objects))
        for (const c of containers(object)) {
          const where = `${id(object)} container ${c.name}`;
          for (const kind of ['requests', 'limits'] as const)
            for (const resource of ['cpu', 'memory'])
              if (!c.resources?.[kind]?.[resource]) add(where, `resources.${kind}.${resource} is missing`);
          const tag = /^[^@]+:([^:/@]+)$|@(sha256:[0-9a-f]{64})$/.exec(c.image);
          if (!tag) add(where, `image ${c.image} has no tag or digest`);
          else if (tag[1] === 'latest') add(where, `image ${c.image} uses latest; pin a version`);
        }
    });
    expect(found).toEqual([]);
  });

  it('probes liveness and readiness on endpoints the processes serve', () => {
    const agentServer = readFileSync(path.join(ROOT, 'agent/src/server/agent-server.ts'), 'utf8');
    const serves: Record<string, (p: string) => boolean> = {
      agent: (p) => agentServer.includes(`app.get('${p}'`),
      console: (p) => existsSync(path.join(ROOT, 'dashboard/src/app', p, 'route.ts'))
    };
    const found = problems((add) => {
      for (const object of objects.filter((o) => o.kind === 'Deployment'))
        for (const c of pod(object).containers) {
          const where = `${id(object)} container ${c.name}`;
          const portNames = (c.ports ?? []).map((p) => p.name);
          for (const kind of ['livenessProbe', 'readinessProbe'] as const) {
            const get = c[kind]?.httpGet;
            if (!get) add(where, `${kind}.httpGet is missing`);
            else if (!serves[c.name]?.(get.path))
              add(where, `${kind} path ${get.path} is not served by the ${c.name}`);
            else if (!portNames.includes(String(get.port)))
              add(where, `${kind} port ${get.port} is no named port`);
          }
          if (c.livenessProbe?.httpGet?.path === c.readinessProbe?.httpGet?.path)
            add(where, 'liveness and readiness probe the same path: an ops database outage would restart it');
        }
    });
    expect(found).toEqual([]);
  });

  it('keeps secrets out of ConfigMaps and literal env values; workloads read them from Secrets', () => {
    const found = problems((add) => {
      for (const cm of objects.filter((o) => o.kind === 'ConfigMap'))
        for (const [key, value] of Object.entries((cm.data ?? {}) as Record<string, string>)) {
          if (SECRET_NAME.test(key) && value !== '')
            add(id(cm), `data.${key} looks like a secret; use a Secret`);
          for (const pattern of SECRET_VALUE)
            if (pattern.test(value)) add(id(cm), `data.${key} holds a credential (${pattern}); use a Secret`);
        }
      for (const object of workloads(objects))
        for (const c of containers(object))
          for (const variable of c.env ?? [])
            if (variable.value !== undefined && SECRET_NAME.test(variable.name))
              add(
                `${id(object)} container ${c.name}`,
                `env ${variable.name} has a literal value; use a Secret`
              );
      for (const object of objects)
        if (object.kind === 'Secret')
          add(id(object), 'a Secret in the repository; the operator creates Secrets');
    });
    expect(found).toEqual([]);
  });

  it('names only Secrets docs/deploy.md tells the operator to create, and only ConfigMaps it renders', () => {
    const guide = readFileSync(path.join(ROOT, 'docs/deploy.md'), 'utf8');
    const configMaps = new Set(objects.filter((o) => o.kind === 'ConfigMap').map((o) => o.metadata.name));
    const found = problems((add) => {
      for (const object of workloads(objects)) {
        for (const c of containers(object))
          for (const source of c.envFrom ?? []) {
            if (source.secretRef && !guide.includes(`\`${source.secretRef.name}\``))
              add(id(object), `Secret ${source.secretRef.name} is not described in docs/deploy.md`);
            if (source.configMapRef && !configMaps.has(source.configMapRef.name))
              add(id(object), `ConfigMap ${source.configMapRef.name} is not rendered`);
          }
        for (const volume of pod(object).volumes ?? []) {
          const ref = (volume.configMap as { name: string } | undefined)?.name;
          if (ref && !configMaps.has(ref))
            add(id(object), `volume ${volume.name}: ConfigMap ${ref} is not rendered`);
        }
      }
    });
    expect(found).toEqual([]);
  });

  it('keeps no state in the agents: no volume but emptyDirs and config, /tmp (spill files) an emptyDir', () => {
    const agent = objects.find((o) => id(o) === 'Deployment/syncscope-agent')!;
    const found = problems((add) => {
      for (const object of workloads(objects))
        for (const volume of pod(object).volumes ?? []) {
          const kind = Object.keys(volume).find((k) => k !== 'name')!;
          if (!['emptyDir', 'configMap', 'secret'].includes(kind))
            add(
              id(object),
              `volume ${volume.name} is a ${kind}; only emptyDir, configMap and secret volumes`
            );
          if (kind === 'emptyDir' && !(volume.emptyDir as { sizeLimit?: string }).sizeLimit)
            add(id(object), `volume ${volume.name}: emptyDir.sizeLimit is missing`);
        }
    });
    expect(found).toEqual([]);
    const mounts = (o: K8sObject) =>
      Object.fromEntries(
        pod(o).containers[0]!.volumeMounts!.map((m) => [
          m.mountPath,
          Object.keys(pod(o).volumes!.find((v) => v.name === m.name)!).find((k) => k !== 'name')
        ])
      );
    expect(mounts(agent)).toMatchObject({ '/tmp': 'emptyDir', '/config': 'configMap' });
    const console = objects.find((o) => id(o) === 'Deployment/syncscope-console')!;
    expect(mounts(console)).toMatchObject({ '/tmp': 'emptyDir', '/app/dashboard/.next/cache': 'emptyDir' });
  });

  it('annotates the agent and console pods for Prometheus on their metrics port', () => {
    const found = problems((add) => {
      for (const object of objects.filter((o) => o.kind === 'Deployment')) {
        const annotations = template(object).annotations ?? {};
        const ports = pod(object).containers[0]!.ports!.map((p) => String(p.containerPort));
        if (annotations['prometheus.io/scrape'] !== 'true')
          add(id(object), 'prometheus.io/scrape must be "true"');
        if (!ports.includes(annotations['prometheus.io/port']!))
          add(id(object), `prometheus.io/port ${annotations['prometheus.io/port']} is no container port`);
        if (annotations['prometheus.io/path'] !== '/metrics')
          add(id(object), 'prometheus.io/path must be /metrics');
      }
    });
    expect(found).toEqual([]);
  });

  it("ships a targets file the agents' loader accepts, with its secrets only as !env", async () => {
    const targets = objects.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('syncscope-targets-')
    )!;
    const text = (targets.data as Record<string, string>)['targets.yaml']!;
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'syncscope-k8s-targets-')), 'targets.yaml');
    writeFileSync(file, text);
    expect((await listTargetNames(file, {})).length).toBeGreaterThan(0);
    for (const key of ['admin_token', 'source_url', 'private_jwk'])
      for (const line of text.split('\n').filter((l) => new RegExp(`\\b${key}:`).test(l)))
        expect(line, `${key} in the targets file`).toMatch(new RegExp(`${key}: !env [A-Z_]+`));
  });
});

describe('the example overlay', () => {
  it('scales the agents past one and sets every image to the operator registry', () => {
    const objects = rendered['overlays/example']!;
    const agent = objects.find((o) => id(o) === 'Deployment/syncscope-agent')!;
    expect((agent.spec as { replicas: number }).replicas).toBeGreaterThan(1);
    for (const object of workloads(objects))
      for (const c of containers(object))
        expect(c.image).toMatch(/^registry\.example\.com\/syncscope\/(agent|console):/);
    expect(new Set(objects.map((o) => o.metadata.namespace))).toEqual(new Set(['syncscope']));
  });

  it('runs the setup job as the agent image with `ops-db setup`, the only one given syncscope-setup', () => {
    const objects = rendered['overlays/example']!;
    const holders = workloads(objects).filter((o) =>
      containers(o).some((c) => c.envFrom?.some((s) => s.secretRef?.name === 'syncscope-setup'))
    );
    expect(holders.map(id)).toEqual(['Job/syncscope-setup']);
    expect(containers(holders[0]!)[0]!.args?.slice(0, 2)).toEqual(['ops-db', 'setup']);
  });
});

describe('the test renderer (render-kustomization.ts)', () => {
  it('refuses a kustomization field it does not render, naming it', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'syncscope-kustomize-'));
    writeFileSync(path.join(dir, 'kustomization.yaml'), 'resources: []\npatches: []\n');
    expect(() => render(dir)).toThrow(
      /kustomization.yaml: patches is not in the subset render-kustomization.ts renders/
    );
  });
});

describe('deploy/kubernetes/prometheus/prometheus.yml', () => {
  const config = YAML.parse(readFileSync(path.join(DEPLOY, 'prometheus/prometheus.yml'), 'utf8'));
  const pods = Object.fromEntries(
    rendered['overlays/example']!.filter((o) => o.kind === 'Deployment').map((o) => [o.metadata.name, o])
  );

  it("scrapes with the compose stack's job names, so the alert rules apply unchanged", () => {
    const compose = YAML.parse(readFileSync(path.join(ROOT, 'prometheus/prometheus.yml'), 'utf8'));
    const names = (c: { scrape_configs: { job_name: string }[] }) =>
      c.scrape_configs.map((s) => s.job_name).filter((n) => n.startsWith('syncscope-'));
    expect(names(config)).toEqual(names(compose));
  });

  it('keeps exactly the pods of its job, as the rendered pod labels and annotations are', () => {
    for (const job of config.scrape_configs as {
      job_name: string;
      relabel_configs: Record<string, unknown>[];
    }[]) {
      const labels = template(pods[job.job_name]!);
      const meta: Record<string, string> = {
        __meta_kubernetes_pod_label_app_kubernetes_io_name: labels.labels!['app.kubernetes.io/name']!,
        __meta_kubernetes_pod_annotation_prometheus_io_scrape: labels.annotations!['prometheus.io/scrape']!
      };
      for (const rule of job.relabel_configs.filter((r) => r.action === 'keep')) {
        const value = (rule.source_labels as string[]).map((l) => meta[l]).join(';');
        expect(new RegExp(`^(?:${rule.regex})$`).test(value), `${job.job_name} keeps ${value}`).toBe(true);
      }
    }
  });

  it('passes promtool (pod discovery swapped for static targets: Debian builds promtool without it)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'syncscope-k8s-prometheus-'));
    const tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, 'metrics-token-for-promtool');
    for (const job of config.scrape_configs) {
      expect(job.kubernetes_sd_configs, job.job_name).toEqual([
        { role: 'pod', namespaces: { names: ['syncscope'] } }
      ]);
      delete job.kubernetes_sd_configs;
      job.static_configs = [{ targets: ['10.0.0.7:9464'] }];
      if (job.authorization) job.authorization.credentials_file = tokenFile;
    }
    config.rule_files = [path.join(ROOT, 'prometheus/rules/*.yml')];
    writeFileSync(path.join(dir, 'prometheus.yml'), YAML.stringify(config));
    const out = execFileSync('promtool', ['check', 'config', 'prometheus.yml'], {
      cwd: dir,
      encoding: 'utf8'
    });
    expect(out).toContain('SUCCESS');
  });
});
