/** `path:line:col: severity: message [code]`, then the witness chain as indented notes. */
import type { Finding } from '../checks/finding';
import type { CheckReport } from './check';
import { displayPath } from './paths';

export function renderText(report: CheckReport, root: string): string {
  const out: string[] = [];
  for (const f of report.findings) {
    const where = `${displayPath(root, f.file)}:${f.range.start.line + 1}:${f.range.start.column + 1}`;
    out.push(`${where}: ${f.severity}: ${oneLine(messageWithRef(f))} [${f.code}]`);
    for (const r of f.related) {
      out.push(`    ${displayPath(root, r.file)}:${r.range.start.line + 1}:${r.range.start.column + 1}: note: ${oneLine(r.message)}`);
    }
  }
  return out.length ? out.join('\n') + '\n' : '';
}

/** The stderr lines: notes about files not analysed, fallbacks of the rules, then the summary. */
export function renderTextFooter(report: CheckReport, root: string): string {
  const out: string[] = [];
  for (const n of report.notes) out.push(`${displayPath(root, n.file)}: note: ${n.message}`);
  for (const g of report.groups) {
    for (const w of g.choice.warnings) out.push(`kvm-locklint: note: rules: ${w}`);
  }
  const count = (s: string) => report.findings.filter((f) => f.severity === s).length;
  const sources = report.groups.map((g) => rulesLabel(g.choice.docPath, g.choice.fellBack, root));
  out.push(
    `kvm-locklint: ${report.files.length} file${report.files.length === 1 ? '' : 's'}, ` +
      `${count('error')} error(s), ${count('warning')} warning(s), ${count('information')} information; ` +
      `rules: ${sources.length ? [...new Set(sources)].join(', ') : 'none needed'}; ${report.stats.ms} ms`,
  );
  return out.join('\n') + '\n';
}

/** `built-in`, or the document's path; `explain` adds which document was unusable on a fallback. */
export function rulesLabel(docPath: string | null, fellBack: boolean, root: string, explain = true): string {
  if (!docPath) return 'built-in';
  if (!fellBack) return displayPath(root, docPath);
  return explain ? `built-in (${displayPath(root, docPath)} unusable)` : 'built-in';
}

/** The message, citing where the rule is written unless the message already does. */
export function messageWithRef(f: Pick<Finding, 'message' | 'ruleRef'>): string {
  return f.ruleRef && !f.message.includes(f.ruleRef) ? `${f.message} (${f.ruleRef})` : f.message;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ');
}
