/**
 * Which rules judge a file: the locking document of the kernel tree the file belongs to, found by
 * walking up from the file, else the built-in rules. A document that cannot be read as a locking
 * document also falls back to the built-in rules, and the choice says so (`fellBack`, `warnings`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BUILTIN_SOURCE, builtinRules, extractLockingDoc, looksLikeLockingDoc, parseLockingDoc } from '../../model/rules';
import type { RuleModel } from '../../model/rules/types';

/**
 * Where trees keep their locking document, newest layout first: locking.rst since 5.5,
 * virt/kvm/locking.txt in 5.4 (the folder moved before the document became reStructuredText),
 * virtual/kvm/locking.txt before.
 */
export const LOCKING_DOC_PATHS = [
  path.join('Documentation', 'virt', 'kvm', 'locking.rst'),
  path.join('Documentation', 'virt', 'kvm', 'locking.txt'),
  path.join('Documentation', 'virtual', 'kvm', 'locking.txt'),
];

export { BUILTIN_SOURCE };

export interface RulesChoice {
  /** Groups files judged by the same rules: the document's absolute path, or `built-in`. */
  key: string;
  model: RuleModel;
  /** The document read (absolute), or null for the built-in rules. */
  docPath: string | null;
  /** True when a document was found but could not be used, so the built-in rules apply. */
  fellBack: boolean;
  /** The parser's warnings, and why the document was not used when `fellBack`. */
  warnings: string[];
}

export function builtinChoice(): RulesChoice {
  const model = builtinRules();
  return { key: BUILTIN_SOURCE, model, docPath: null, fellBack: false, warnings: [] };
}

/** The locking document directly under `dir`, if any. */
function docIn(dir: string): string | null {
  for (const rel of LOCKING_DOC_PATHS) {
    const candidate = path.join(dir, rel);
    if (isFile(candidate)) return candidate;
  }
  return null;
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Walks up from a file or directory to the first directory holding a locking document. */
export function findLockingDoc(from: string): string | null {
  let dir = path.resolve(from);
  if (isFile(dir)) dir = path.dirname(dir);
  for (;;) {
    const doc = docIn(dir);
    if (doc) return doc;
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/**
 * Reads a locking document (any version). Throws only when the file cannot be read at all and
 * `strict` is set (an explicit --rules FILE that does not exist is bad usage); otherwise every
 * problem becomes a fallback to the built-in rules with a warning.
 */
export function loadRulesDoc(docPath: string, strict = false): RulesChoice {
  const abs = path.resolve(docPath);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch (err) {
    if (strict) throw new Error(`cannot read rules file ${docPath}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    return fallback(abs, [`cannot read ${abs}`]);
  }
  const notes: string[] = [];
  if (!looksLikeLockingDoc(text)) {
    // A capture of the document (a diff, a blame page, a saved web page) still holds the rules.
    const extracted = extractLockingDoc(text);
    if (!extracted) return fallback(abs, [`${path.basename(abs)} does not look like a KVM locking document`]);
    text = extracted.text;
    notes.push(`${path.basename(abs)}: read as a capture (${extracted.note})`);
  }
  let model: RuleModel;
  try {
    model = parseLockingDoc(text, abs);
  } catch (err) {
    return fallback(abs, [`${path.basename(abs)} could not be parsed: ${err instanceof Error ? err.message : String(err)}`]);
  }
  if (model.origin !== 'document' || model.format === 'unknown') {
    const why = model.warnings.length > 0 ? model.warnings : [`${path.basename(abs)} states no usable rules`];
    return fallback(abs, [...notes, ...why]);
  }
  return { key: abs, model, docPath: abs, fellBack: false, warnings: [...notes, ...model.warnings] };
}

function fallback(docPath: string, warnings: string[]): RulesChoice {
  return {
    key: docPath,
    model: builtinRules(),
    docPath,
    fellBack: true,
    warnings: [...warnings, `using the built-in rules instead of ${docPath}`],
  };
}

/**
 * Answers "which rules judge this file" for many files, reading each document once and looking
 * at each directory once. With `override` (an explicit rules file) every file gets that one.
 */
export class RulesResolver {
  private readonly dirDocs = new Map<string, string | null>();
  private readonly docs = new Map<string, RulesChoice>();
  private builtin: RulesChoice | undefined;
  private readonly overrideChoice: RulesChoice | undefined;

  constructor(override?: string) {
    if (override) this.overrideChoice = loadRulesDoc(override, true);
  }

  forFile(file: string): RulesChoice {
    return this.forDirectory(path.dirname(path.resolve(file)));
  }

  /** The rules for files in `dir` (the walk starts at `dir` itself). */
  forDirectory(dir: string): RulesChoice {
    if (this.overrideChoice) return this.overrideChoice;
    const doc = this.docFor(path.resolve(dir));
    if (!doc) return (this.builtin ??= builtinChoice());
    let choice = this.docs.get(doc);
    if (!choice) {
      choice = loadRulesDoc(doc);
      this.docs.set(doc, choice);
    }
    return choice;
  }

  /** Forget what was read (the document or the tree changed on disk). */
  clear(): void {
    this.dirDocs.clear();
    this.docs.clear();
  }

  private docFor(dir: string): string | null {
    const walked: string[] = [];
    let found: string | null = null;
    for (let d = dir; ; ) {
      const known = this.dirDocs.get(d);
      if (known !== undefined) {
        found = known;
        break;
      }
      walked.push(d);
      const doc = docIn(d);
      if (doc) {
        found = doc;
        break;
      }
      const parent = path.dirname(d);
      if (parent === d) break;
      d = parent;
    }
    for (const d of walked) this.dirDocs.set(d, found);
    return found;
  }
}
