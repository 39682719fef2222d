/** `--format json`, exactly the object of DESIGN.md (1-based positions), plus `notes` and `rulesWarnings`. */
import type { CheckReport } from './check';
import { displayPath } from './paths';
import { rulesLabel } from './formatText';
import { TOOL_NAME, toolVersion } from './packageInfo';

export interface JsonReport {
  tool: string;
  version: string;
  rulesSource: string;
  /** Every rules source in use when the files belong to several trees. */
  rulesSources: string[];
  rulesWarnings: string[];
  files: number;
  diagnostics: JsonDiagnostic[];
  notes: { file: string; message: string }[];
  stats: { functions: number; lockEvents: number; ms: number };
}

export interface JsonDiagnostic {
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  severity: string;
  code: string;
  message: string;
  ruleRef?: string;
  function?: string;
  related: { file: string; line: number; column: number; endLine: number; endColumn: number; message: string }[];
}

export function toJsonReport(report: CheckReport, root: string): JsonReport {
  const sources = [...new Set(report.groups.map((g) => rulesLabel(g.choice.docPath, g.choice.fellBack, root, false)))];
  return {
    tool: TOOL_NAME,
    version: toolVersion(),
    rulesSource: sources.length === 1 ? sources[0] : sources.length === 0 ? 'built-in' : sources.join(', '),
    rulesSources: sources,
    rulesWarnings: report.groups.flatMap((g) => g.choice.warnings),
    files: report.files.length,
    diagnostics: report.findings.map((f) => ({
      file: displayPath(root, f.file),
      line: f.range.start.line + 1,
      column: f.range.start.column + 1,
      endLine: f.range.end.line + 1,
      endColumn: f.range.end.column + 1,
      severity: f.severity,
      code: f.code,
      message: f.message,
      ...(f.ruleRef ? { ruleRef: f.ruleRef } : {}),
      ...(f.functionName ? { function: f.functionName } : {}),
      related: f.related.map((r) => ({
        file: displayPath(root, r.file),
        line: r.range.start.line + 1,
        column: r.range.start.column + 1,
        endLine: r.range.end.line + 1,
        endColumn: r.range.end.column + 1,
        message: r.message,
      })),
    })),
    notes: report.notes.map((n) => ({ file: displayPath(root, n.file), message: n.message })),
    stats: report.stats,
  };
}
