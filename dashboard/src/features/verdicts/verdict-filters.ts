import { ERROR_CODES } from '@syncscope/core/errors/error-codes';
import {
  INCONCLUSIVE_REASONS,
  isProbeVerdict,
  MISMATCH_REASONS,
  PROBE_VERDICTS,
  type ProbeVerdict
} from '@syncscope/core/probe/verdicts';

export { PROBE_VERDICTS };

/** The reasons the history can be filtered by, grouped under the verdict they make. */
export const REASON_GROUPS: readonly { verdict: ProbeVerdict; reasons: readonly string[] }[] = [
  { verdict: 'mismatch', reasons: MISMATCH_REASONS },
  { verdict: 'inconclusive', reasons: INCONCLUSIVE_REASONS },
  { verdict: 'error', reasons: ['SYNCSCOPE_E_INTERNAL_ERROR'] }
];

/** A `verdict` query parameter, if it names one of the four. */
export function verdictParam(value: string | undefined): ProbeVerdict | undefined {
  return isProbeVerdict(value) ? value : undefined;
}

/** A `reason` query parameter, if it is a code of the error catalogue (any code an error can carry). */
export function reasonParam(value: string | undefined): string | undefined {
  return value !== undefined && Object.hasOwn(ERROR_CODES, value) ? value : undefined;
}

/** Colour of a verdict in small marks (trend dots): inconclusive amber, never mismatch's red. */
export const VERDICT_DOT: Record<ProbeVerdict, string> = {
  consistent: 'bg-emerald-500',
  mismatch: 'bg-rose-500',
  inconclusive: 'bg-amber-400',
  error: 'bg-violet-500'
};
