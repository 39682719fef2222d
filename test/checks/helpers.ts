/** Runs C snippets (plus the fixtures' kvm_mini.h) through the whole engine and returns findings. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { builtinRules } from '../../model/rules';
import type { RuleModel } from '../../model/rules/types';
import type { Finding, RuleCode } from '../../server/checks/finding';
import { createWorkspace } from '../../server/engine/workspace';

const HEADER = 'test/fixtures/include/kvm_mini.h';
const HEADER_TEXT = fs.readFileSync(path.resolve(__dirname, '../..', HEADER), 'utf8');

const ALL: RuleCode[] = [
  'lock-order', 'lock-cycle', 'srcu-order', 'sleep-in-atomic', 'lock-requires', 'rwlock-mode',
  'notifier-lock', 'lock-imbalance', 'srcu-required', 'spte-nonatomic', 'spte-lockless-write', 'spte-tlb-flush',
];

/** `files`: path -> C text (each gets `#include "kvm_mini.h"` semantics by being analysed with the header). */
export async function analyze(files: Record<string, string>, rules: RuleModel = builtinRules()): Promise<Finding[]> {
  const codes: Partial<Record<RuleCode, { enabled: boolean }>> = {};
  for (const c of ALL) codes[c] = { enabled: true };
  const ws = await createWorkspace({ rules, codes });
  ws.setFile(HEADER, HEADER_TEXT);
  for (const [p, text] of Object.entries(files)) ws.setFile(p, text);
  return [...ws.analyze().findings.values()].flat();
}

export function ofCode(fs: Finding[], code: RuleCode): Finding[] {
  return fs.filter((f) => f.code === code);
}

/** 1-based line of the first line of `text` containing `needle`. */
export function lineOf(text: string, needle: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`no line with ${needle}`);
  return i + 1;
}

export function lines(fs: Finding[]): number[] {
  return fs.map((f) => f.range.start.line + 1).sort((a, b) => a - b);
}
