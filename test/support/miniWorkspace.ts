/**
 * A Workspace of a few files of our own C, with the kvm_mini.h fixture header and the built-in
 * rules: what the incremental tests edit and compare with a fresh one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { builtinRules } from '../../model/rules';
import type { Finding, RuleCode } from '../../server/checks/finding';
import type { Workspace } from '../../server/engine/api';
import { createWorkspace } from '../../server/engine/workspace';

const HEADER = 'test/fixtures/include/kvm_mini.h';
const HEADER_TEXT = fs.readFileSync(path.resolve(__dirname, '../..', HEADER), 'utf8');

export async function miniWorkspace(files: Record<string, string>): Promise<Workspace> {
  const ws = await createWorkspace({ rules: builtinRules() });
  ws.setFile(HEADER, HEADER_TEXT);
  for (const [p, text] of Object.entries(files)) ws.setFile(p, text);
  return ws;
}

/** The findings of `codes` (every code when absent), each as one JSON line, sorted. */
export function findingLines(findings: Map<string, Finding[]>, codes?: readonly RuleCode[]): string[] {
  const out: string[] = [];
  for (const list of findings.values()) for (const f of list) if (!codes || codes.includes(f.code)) out.push(JSON.stringify(f));
  return out.sort();
}
