import type { LintFinding } from '@syncscope/core/rules-insight/lint/lint-rules';
import { Card, ErrorBox } from '@/ui/primitives';
import type { Read } from './rules-insight.server';

/** Lint's count by severity; the findings themselves are shown at their lines in the YAML. */
export function LintCard({ lint }: { lint: Read<LintFinding[]> }) {
  if (!lint.ok) return <ErrorBox>Lint could not read the source: {lint.message}</ErrorBox>;
  const count = (s: LintFinding['severity']) => lint.value.filter((f) => f.severity === s).length;
  return (
    <Card title="Lint against the source" className="mb-4">
      <p data-testid="lint-summary">
        {lint.value.length === 0
          ? 'No findings: every table is published with a replica identity, filters match by type, filter columns are indexed, and no user exceeds the bucket limit.'
          : `${count('error')} error(s), ${count('warning')} warning(s), ${count('info')} note(s), shown at their lines below.`}
      </p>
    </Card>
  );
}
