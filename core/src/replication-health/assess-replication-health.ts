import { rulesVersionOfSlot } from '../service-admin/admin-schemas.ts';
import { formatBytes } from './format-bytes.ts';
import type {
  ReplicationFinding,
  ReplicationHealth,
  ServiceView,
  SlotHealth,
  SlotReading
} from './replication-health-types.ts';

export interface HealthInputs {
  target: string;
  observedAt: Date;
  /** The source's service slots, or why they could not be read. */
  slots: SlotReading[] | { problem: string };
  /** The admin API's view; null when the target has none, or why it could not be read. */
  service: ServiceView | null | { problem: string };
  walBudgetBytes: number | null;
  inactiveGraceSeconds: number;
}

const sql = (slot: string) => `SELECT pg_drop_replication_slot('${slot}')`;

/** The slot names the service says it uses; empty when it names none (no admin API, or an older service). */
function namedSlots(service: ServiceView | null): { active?: string; deploying?: string } {
  return {
    ...(service?.active?.slot ? { active: service.active.slot } : {}),
    ...(service?.deploying?.slot ? { deploying: service.deploying.slot } : {})
  };
}

function inactiveSeconds(slot: SlotReading, now: Date): number | null {
  return slot.inactiveSince ? (now.getTime() - Date.parse(slot.inactiveSince)) / 1000 : null;
}

/**
 * A slot's place: the one the active or deploying rules use (named by the admin API), or one left
 * behind. Without names, an inactive slot is left behind once its inactivity outlasts the grace period.
 */
function slotRole(slot: SlotReading, inputs: HealthInputs, service: ServiceView | null): SlotHealth['role'] {
  const names = namedSlots(service);
  if (slot.slot === names.active) return 'active';
  if (slot.slot === names.deploying) return 'deploying';
  if (slot.active) return 'unknown';
  if (names.active || names.deploying) return 'abandoned';
  const idle = inactiveSeconds(slot, inputs.observedAt);
  return idle !== null && idle >= inputs.inactiveGraceSeconds ? 'abandoned' : 'unknown';
}

function abandonedFinding(slot: SlotHealth, service: ServiceView | null, now: Date): ReplicationFinding {
  const version = rulesVersionOfSlot(slot.slot);
  const current = rulesVersionOfSlot(service?.active?.slot ?? undefined);
  const why =
    service?.active?.slot || service?.deploying?.slot
      ? `left behind by ${version !== null ? `rules version ${version}` : 'an earlier rules version'} (the service uses ${[service.active?.slot, service.deploying?.slot].filter(Boolean).join(' and ')}${current !== null ? `, version ${current}` : ''})`
      : `left behind: inactive for ${Math.round((inactiveSeconds(slot, now) ?? 0) / 60)} min${version !== null ? `, from rules version ${version}` : ''}`;
  const retains = slot.retainedWalBytes !== null ? ` and retains ${formatBytes(slot.retainedWalBytes)}` : '';
  return {
    severity: 'warning',
    kind: 'slot-abandoned',
    slot: slot.slot,
    message: `slot ${slot.slot} is inactive${retains}: ${why}. Postgres keeps its WAL until it is dropped: ${sql(slot.slot)}`
  };
}

const WAL_STATUS_MEANING: Record<string, [ReplicationFinding['severity'], string]> = {
  extended: [
    'warning',
    'it retains more than max_wal_size; its WAL is kept, but only by max_slot_wal_keep_size'
  ],
  unreserved: ['critical', 'its WAL will be removed at the next checkpoint unless the consumer catches up'],
  lost: [
    'critical',
    'WAL it needs is gone; the service cannot resume from it and must replicate again from a new slot'
  ]
};

function slotFindings(slot: SlotHealth): ReplicationFinding[] {
  const findings: ReplicationFinding[] = [];
  const meaning = slot.walStatus ? WAL_STATUS_MEANING[slot.walStatus] : undefined;
  if (meaning)
    findings.push({
      severity: meaning[0],
      kind: 'wal-status',
      slot: slot.slot,
      message: `slot ${slot.slot}: wal_status is '${slot.walStatus}': ${meaning[1]}`
    });
  if ((slot.role === 'active' || slot.role === 'deploying') && !slot.active)
    findings.push({
      severity: 'warning',
      kind: 'slot-inactive',
      slot: slot.slot,
      message: `slot ${slot.slot} of the ${slot.role} rules is not in use: the service is not replicating from it (stopped, or reconnecting)`
    });
  return findings;
}

function budgetFinding(slots: SlotHealth[], budget: number | null): ReplicationFinding[] {
  const retained = slots.reduce((sum, s) => sum + (s.retainedWalBytes ?? 0), 0);
  if (budget === null || retained <= budget) return [];
  const bySlot = slots
    .filter((s) => (s.retainedWalBytes ?? 0) > 0)
    .map((s) => `${s.slot} ${formatBytes(s.retainedWalBytes!)}`);
  return [
    {
      severity: 'critical',
      kind: 'wal-over-budget',
      message: `retained WAL ${formatBytes(retained)} is over the budget of ${formatBytes(budget)} (${bySlot.join(', ')})`
    }
  ];
}

function serviceFindings(service: ServiceView | null, slots: SlotHealth[]): ReplicationFinding[] {
  const findings: ReplicationFinding[] = [];
  const active = service?.active;
  if (active?.slot && !slots.some((s) => s.slot === active.slot))
    findings.push({
      severity: 'critical',
      kind: 'slot-missing',
      slot: active.slot,
      message: `the active rules' slot ${active.slot} does not exist in the source database: the service cannot replicate until it creates it again`
    });
  if (active?.initialReplicationDone === false)
    findings.push({
      severity: 'warning',
      kind: 'initial-replication',
      message:
        'the service is still replicating its initial snapshot: probes are inconclusive until it is done'
    });
  const deploying = service?.deploying;
  if (deploying) {
    const version = rulesVersionOfSlot(deploying.slot ?? undefined);
    findings.push({
      severity: 'info',
      kind: 'deploying',
      ...(deploying.slot ? { slot: deploying.slot } : {}),
      message: `${version !== null ? `rules version ${version} is` : 'new rules are'} being deployed: the service is reprocessing (initial replication ${deploying.initialReplicationDone ? 'done, switching over' : 'running'})`
    });
  }
  return findings;
}

/** Combines the source's slots and the service's view into one health with its findings (pure). */
export function assessReplicationHealth(inputs: HealthInputs): ReplicationHealth {
  const problems: ReplicationFinding[] = [];
  if ('problem' in inputs.slots)
    problems.push({ severity: 'warning', kind: 'source-unreadable', message: inputs.slots.problem });
  const service = inputs.service && 'problem' in inputs.service ? null : inputs.service;
  if (inputs.service && 'problem' in inputs.service)
    problems.push({ severity: 'warning', kind: 'admin-unreadable', message: inputs.service.problem });
  const readings = 'problem' in inputs.slots ? [] : inputs.slots;
  const slots: SlotHealth[] = readings.map((s) => ({ ...s, role: slotRole(s, inputs, service) }));
  const lastCheckpoint = service?.active?.lastCheckpointAt;
  return {
    target: inputs.target,
    observedAt: inputs.observedAt.toISOString(),
    slots,
    service,
    retainedWalBytes: slots.reduce((sum, s) => sum + (s.retainedWalBytes ?? 0), 0),
    walBudgetBytes: inputs.walBudgetBytes,
    lastCheckpointAgeSeconds: lastCheckpoint
      ? Math.max(0, (inputs.observedAt.getTime() - Date.parse(lastCheckpoint)) / 1000)
      : null,
    findings: [
      ...problems,
      ...slots
        .filter((s) => s.role === 'abandoned')
        .map((s) => abandonedFinding(s, service, inputs.observedAt)),
      ...slots.flatMap(slotFindings),
      ...('problem' in inputs.slots ? [] : serviceFindings(service, slots)),
      ...budgetFinding(slots, inputs.walBudgetBytes)
    ]
  };
}
