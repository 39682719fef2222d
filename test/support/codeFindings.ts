/** Findings of one code as sorted `file:line` strings, from a workspace analysis or a fresh one. */
import { builtinRules } from '../../model/rules';
import type { Finding } from '../../server/checks/finding';
import { createWorkspace } from '../../server/engine/workspace';

export function codeFindings(m: ReadonlyMap<string, readonly Finding[]>, code: Finding['code']): string[] {
  const out: string[] = [];
  for (const list of m.values()) for (const f of list) if (f.code === code) out.push(`${f.file}:${f.range.start.line + 1}`);
  return out.sort();
}

/** The findings of `code` in a fresh workspace holding `files` (path -> text), built-in rules. */
export async function freshCodeFindings(files: Record<string, string>, code: Finding['code']): Promise<string[]> {
  const ws = await createWorkspace({ rules: builtinRules() });
  for (const [path, text] of Object.entries(files)) ws.setFile(path, text);
  return codeFindings(ws.analyze().findings, code);
}
