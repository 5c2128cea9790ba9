export {
  type ComputedExpectedState,
  type ComputeExpectedStateOptions,
  computeExpectedState,
  MAX_BUCKETS_PER_CONNECTION,
  type ProbeProgress,
  type TableScan
} from './compute-expected-state.ts';
export { checkSourceRoleCanWrite, type SourceRoleCheck } from './source-role.ts';
