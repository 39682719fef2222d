/**
 * Settings and suppressions, applied to every check's findings in one place:
 * per-code enable/severity, and `/* kvm-locklint: ignore CODE *\/` on the line or the line above.
 */
import type { Suppression } from '../frontend/facts';
import type { Finding, RuleCode, Severity } from './finding';
import { ruleMeta } from './registry';

export interface CodeSetting {
  enabled: boolean;
  severity?: Severity;
}

export type CodeSettings = Partial<Record<RuleCode, CodeSetting>>;

export function isEnabled(code: RuleCode, settings: CodeSettings | undefined): boolean {
  return settings?.[code]?.enabled ?? true;
}

export function severityOf(code: RuleCode, settings: CodeSettings | undefined): Severity {
  return settings?.[code]?.severity ?? ruleMeta(code).defaultSeverity;
}

/** Does a suppression cover `code` on `line` (0-based)? A comment covers its own line and the next. */
export function isSuppressed(code: RuleCode, line: number, suppressions: readonly Suppression[] | undefined): boolean {
  if (!suppressions) return false;
  for (const s of suppressions) {
    if (s.line !== line && s.line !== line - 1) continue;
    if (s.codes.length === 0 || s.codes.includes(code) || s.codes.includes('all') || s.codes.includes('*')) return true;
  }
  return false;
}

export function applyPolicy(
  findings: readonly Finding[],
  settings: CodeSettings | undefined,
  suppressionsOf: (file: string) => readonly Suppression[] | undefined,
): Finding[] {
  const out: Finding[] = [];
  for (const f of findings) {
    if (!isEnabled(f.code, settings)) continue;
    if (isSuppressed(f.code, f.range.start.line, suppressionsOf(f.file))) continue;
    out.push({ ...f, severity: severityOf(f.code, settings) });
  }
  return out;
}
