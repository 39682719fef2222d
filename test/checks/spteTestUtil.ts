/** Runs the SPTE checks on inline C (plus the fixtures' kvm_mini.h) through the real engine. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { builtinRules, parseLockingDoc } from '../../model/rules';
import type { RuleModel } from '../../model/rules/types';
import type { Finding, RuleCode } from '../../server/checks/finding';
import { createWorkspace } from '../../server/engine/workspace';

export const REPO = path.resolve(__dirname, '../..');
export const SHARED = path.resolve(REPO, '../shared');
const HEADER = 'test/fixtures/include/kvm_mini.h';
const HEADER_TEXT = fs.readFileSync(path.join(REPO, HEADER), 'utf8');

export const SPTE_CODES: RuleCode[] = ['spte-nonatomic', 'spte-lockless-write', 'spte-tlb-flush'];

export function rules612(): RuleModel {
  const doc = path.join(SHARED, 'kvm-docs/locking-6.12.rst');
  return parseLockingDoc(fs.readFileSync(doc, 'utf8'), 'Documentation/virt/kvm/locking.rst');
}

/** SPTE findings of `files` (name -> C text, each including kvm_mini.h by itself). */
export async function spteFindings(files: Record<string, string> | string, rules: RuleModel = builtinRules()): Promise<Finding[]> {
  const ws = await createWorkspace({ rules });
  ws.setFile(HEADER, HEADER_TEXT);
  const map = typeof files === 'string' ? { 'test.c': files } : files;
  for (const [name, text] of Object.entries(map)) ws.setFile(name, `#include "kvm_mini.h"\n${text}`);
  const out: Finding[] = [];
  for (const list of ws.analyze().findings.values()) for (const f of list) if (SPTE_CODES.includes(f.code)) out.push(f);
  return out;
}

/** `code@line` (1-based line of the C text as given, i.e. without the added #include). */
export function keys(findings: Finding[]): string[] {
  return findings.map((f) => `${f.code}@${f.range.start.line}`).sort();
}

/** 1-based line (in `text` as given) of the line containing `marker`. */
export function lineOf(text: string, marker: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(marker));
  if (i < 0) throw new Error(`marker ${marker} not found`);
  return i + 1;
}
