'use client';
import { yaml } from '@codemirror/lang-yaml';
import { linter, lintGutter } from '@codemirror/lint';
import { EditorView } from '@codemirror/view';
import type { DraftProblem } from '@syncscope/core/rules-insight/dry-run/dry-run-report';
import CodeMirror from '@uiw/react-codemirror';
import { useMemo, useRef } from 'react';
import { problemDiagnostic } from './draft-diagnostics';
import { useDarkTheme } from './use-dark-theme';

/** The server validates this long after the last keystroke. */
const VALIDATE_DELAY_MS = 600;

/**
 * The draft in CodeMirror 6 with YAML highlighting; `validate` (the server's checks) runs after each
 * pause in typing and its problems are shown at their lines (gutter marker, underline, tooltip).
 * A result for text that has changed since is dropped by the lint extension itself.
 */
export function DraftEditor({
  value,
  onChange,
  validate
}: {
  value: string;
  onChange(value: string): void;
  validate(draft: string): Promise<DraftProblem[]>;
}) {
  const dark = useDarkTheme();
  const validateRef = useRef(validate);
  validateRef.current = validate;
  const extensions = useMemo(
    () => [
      yaml(),
      // Rules lines are long SQL: wrapped, every query is read whole and its problem seen at its line.
      EditorView.lineWrapping,
      lintGutter(),
      linter(
        async (view) => {
          const problems = await validateRef.current(view.state.doc.toString());
          return problems.map((p) => problemDiagnostic(view.state.doc, p));
        },
        { delay: VALIDATE_DELAY_MS }
      )
    ],
    []
  );
  return (
    <div
      className="rounded-md border border-zinc-200 text-[13px] dark:border-zinc-800"
      data-testid="draft-editor"
    >
      <CodeMirror
        value={value}
        onChange={onChange}
        extensions={extensions}
        theme={dark ? 'dark' : 'light'}
        minHeight="16rem"
        maxHeight="36rem"
        aria-label="Draft sync rules"
        basicSetup={{ foldGutter: false, autocompletion: false }}
      />
    </div>
  );
}
