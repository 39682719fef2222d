/**
 * Bad and odd input never throws and never hangs; damaged documents still give their rules, with
 * warnings; raw captures (diff, blame, numbered web page, Atom feed) are recovered.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractLockingDoc, looksLikeLockingDoc, parseLockingDoc } from '../../model/rules';
import type { RuleModel } from '../../model/rules';

const SHARED = path.resolve(__dirname, '../../../shared');
const DOCS = path.join(SHARED, 'kvm-docs');
const SEEDS = path.join(SHARED, 'seeds');
const ALL_DOCS = [
  'locking-3.x.txt',
  'locking-4.14.txt',
  'locking-5.4.txt',
  'locking-5.5.rst',
  'locking-5.10.rst',
  'locking-6.12.rst',
  'locking-kvm-2025.rst',
];

/** The model without its source, to compare two readings of the same document. */
function rules(m: RuleModel) {
  const { source: _source, ...rest } = m;
  return rest;
}

/** A small document written for these tests, in the 6.x shape. */
const MINI = [
  '=================',
  'Lock Overview',
  '=================',
  '',
  '1. Acquisition Orders',
  '---------------------',
  '',
  '- alpha->lock is taken outside beta->mutex',
  '',
  '- beta->mutex is taken outside gamma_lock, delta->x.lock and',
  '  eps->lock, which almost never happens.',
  '',
  'On arm64:',
  '',
  '- zeta->lock is taken outside eta->lock; critical sections for',
  '  theta->lock must also take zeta->lock',
  '',
  'Example::',
  '',
  '    omega->lock is taken outside alpha->lock',
  '',
  'Everything else is a leaf: nothing nests inside.',
  '',
  '2. Reference',
  '------------',
  '',
  '``alpha->lock``',
  '^^^^^^^^^^^^^^^',
  ':Type:\t\tmutex',
  ':Arch:\t\tany',
  ':Protects:\t- one thing',
  '\t\t- another thing',
  ':Comment:\tfirst line',
  '    second line',
  '',
].join('\n');

describe('parser robustness (no shared data needed)', () => {
  it('reads a small hand-written document: multi-inner bullets, arch blocks, literal blocks skipped', () => {
    const m = parseLockingDoc(MINI, 'mini.rst');
    expect(m.orders.map((o) => [o.outer, o.inner, o.arch, o.line])).toEqual([
      ['alpha->lock', 'beta->mutex', 'any', 8],
      ['beta->mutex', 'gamma_lock', 'any', 10],
      ['beta->mutex', 'delta->x.lock', 'any', 10],
      ['beta->mutex', 'eps->lock', 'any', 10],
      ['zeta->lock', 'eta->lock', 'arm64', 15],
    ]);
    expect(m.mustAlsoHold.map((r) => [r.lock, r.mustHold, r.arch, r.line])).toEqual([['theta->lock', 'zeta->lock', 'arm64', 15]]);
    expect(m.leaf?.line).toBe(22);
    expect(m.locks).toEqual([
      {
        name: 'alpha->lock',
        type: 'mutex',
        arch: 'any',
        protects: ['one thing', 'another thing'],
        comment: 'first line second line',
        line: 27,
      },
    ]);
    expect(m.format).toBe('rst-headings');
    expect(m.warnings).toEqual([]);
  });

  it('CRLF, lone CR, tabs, NBSPs and trailing blanks give the same rules and the same lines', () => {
    const base = rules(parseLockingDoc(MINI, 'a'));
    expect(rules(parseLockingDoc(MINI.replace(/\n/g, '\r\n'), 'a'))).toEqual(base);
    expect(rules(parseLockingDoc(MINI.replace(/\n/g, '\r'), 'a'))).toEqual(base);
    expect(rules(parseLockingDoc(MINI.replace(/\n/g, '  \t\n'), 'a'))).toEqual(base);
    expect(rules(parseLockingDoc(MINI.replace(/ /g, '\u00a0'), 'a'))).toEqual(base);
    expect(rules(parseLockingDoc(MINI.replace(/^  /gm, '\t'), 'a'))).toEqual(base);
  });

  it('empty, blank and binary input: format unknown, a warning that says to use the built-in rules', () => {
    for (const text of ['', '   \n\n\t', '\u0000\u0001\u0002garbage\u0000'.repeat(50)]) {
      const m = parseLockingDoc(text, 'x');
      expect(m.format).toBe('unknown');
      expect(m.orders).toEqual([]);
      expect(m.warnings.some((w) => /built-in rules/.test(w))).toBe(true);
    }
    expect(parseLockingDoc('\u0000\u0001', 'x').warnings[0]).toMatch(/binary/);
    // not even a string (a caller bug) must not throw
    expect(parseLockingDoc(undefined as unknown as string, 'x').format).toBe('unknown');
  });

  it('random bytes and random text never throw', () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const alphabet = 'ab- :\t\n`^=_>.()kvm->lock is taken outside and,;:\u00a0\r';
    for (let n = 0; n < 200; n++) {
      let s = '';
      const len = Math.floor(rnd() * 400);
      for (let i = 0; i < len; i++) s += alphabet[Math.floor(rnd() * alphabet.length)];
      const m = parseLockingDoc(s, 'fuzz');
      expect(m.warnings.filter((w) => w.startsWith('internal error'))).toEqual([]);
      expect(() => extractLockingDoc(s)).not.toThrow();
    }
  });

  it('an unreadable ordering statement is reported, not guessed', () => {
    const m = parseLockingDoc('Acquisition Orders\n------------------\n\n- the big lock is taken outside the small lock\n', 'x');
    expect(m.orders).toEqual([]);
    expect(m.warnings.some((w) => w.startsWith('line 4: could not read this ordering statement'))).toBe(true);
  });

  // A guard against catastrophic backtracking (minutes on such inputs), not a speed measurement:
  // the bounds are far above the normal time so that a loaded machine does not fail it.
  it('huge inputs do not hang the parser: a 2 MB line and 50k lines', () => {
    const long = '- a->lock is taken outside ' + 'x'.repeat(2_000_000);
    let t = Date.now();
    parseLockingDoc(long, 'x');
    extractLockingDoc(long);
    expect(Date.now() - t).toBeLessThan(10_000);
    const many = MINI.repeat(1500);
    t = Date.now();
    const m = parseLockingDoc(many, 'x');
    expect(m.orders.length).toBeGreaterThan(0);
    expect(Date.now() - t).toBeLessThan(10_000);
  });

  it('looksLikeLockingDoc tells documents from other text', () => {
    expect(looksLikeLockingDoc(MINI)).toBe(true);
    expect(looksLikeLockingDoc('')).toBe(false);
    expect(looksLikeLockingDoc('int main(void) { return 0; }\n')).toBe(false);
    expect(looksLikeLockingDoc('\u0000\u0001\u0002'.repeat(100))).toBe(false);
  });

  it('extractLockingDoc: clean text comes back unchanged without a line map', () => {
    const e = extractLockingDoc(MINI);
    expect(e).not.toBeNull();
    expect(e?.text).toBe(MINI);
    expect(e?.lineMap).toBeUndefined();
    expect(extractLockingDoc('')).toBeNull();
    expect(extractLockingDoc('\u0000\u0001'.repeat(100))).toBeNull();
    expect(extractLockingDoc('hello world\n')).toBeNull();
  });

  it('extractLockingDoc: a diff hunk is placed at its line in the new file', () => {
    const diff = [
      'Subject: add an order',
      '    indented commit text is not context',
      '--- a/Documentation/virt/kvm/locking.rst',
      '+++ b/Documentation/virt/kvm/locking.rst',
      '@@ -7,3 +7,4 @@ KVM Lock Overview',
      ' 1. Acquisition Orders',
      ' ---------------------',
      '+',
      '+- vcpu->mutex is taken outside kvm->slots_lock',
    ].join('\n');
    const e = extractLockingDoc(diff);
    expect(e?.lineMap?.slice(6)).toEqual([6, 7, 8, 9]);
    const m = parseLockingDoc(e?.text ?? '', 'diff');
    expect(m.orders.map((o) => [o.outer, o.inner, o.line])).toEqual([['vcpu->mutex', 'kvm->slots_lock', 10]]);
  });
});

describe.skipIf(!fs.existsSync(DOCS))('damaged real documents', () => {
  // The callback of a skipped describe still runs: read nothing when ../shared is absent.
  const docs = fs.existsSync(DOCS) ? ALL_DOCS.map((n) => [n, fs.readFileSync(path.join(DOCS, n), 'utf8')] as const) : [];

  it('CRLF, NBSP and trailing-space versions of every document give identical models', () => {
    for (const [name, text] of docs) {
      const base = rules(parseLockingDoc(text, name));
      expect(rules(parseLockingDoc(text.replace(/\n/g, '\r\n'), name)), name).toEqual(base);
      expect(rules(parseLockingDoc(text.replace(/\n/g, ' \t \n'), name)), name).toEqual(base);
      expect(rules(parseLockingDoc(text.replace(/(\S) (\S)/g, '$1\u00a0$2'), name)).orders, name).toEqual(base.orders);
    }
  });

  it('every truncation point is survived; a cut before the Reference warns about truncation', () => {
    const [, text] = docs[5]; // 6.12
    const full = parseLockingDoc(text, '6.12');
    const lines = text.split('\n');
    for (let n = 0; n <= lines.length; n++) {
      const m = parseLockingDoc(lines.slice(0, n).join('\n'), 'cut');
      // what was read is always a prefix of the full reading (a cut bullet has a shorter text)
      const key = (o: { outer: string; inner: string; arch: string; line: number }) => [o.outer, o.inner, o.arch, o.line];
      expect(m.orders.map(key)).toEqual(full.orders.slice(0, m.orders.length).map(key));
      expect(m.locks.map((l) => l.name)).toEqual(full.locks.slice(0, m.locks.length).map((l) => l.name));
    }
    const cut = parseLockingDoc(lines.slice(0, 100).join('\n'), 'cut');
    expect(cut.orders).toEqual(full.orders);
    expect(cut.locks).toEqual([]);
    expect(cut.warnings.some((w) => /truncated/.test(w))).toBe(true);
  });

  it('a truncated middle of an entry keeps the entries before it and warns about the broken one', () => {
    const [, text] = docs[5];
    const lines = text.split('\n');
    const m = parseLockingDoc(lines.slice(0, 267).join('\n'), 'cut'); // ends on kvm->mmu_lock's underline
    expect(m.locks.map((l) => l.name).at(-1)).toBe('kvm->mmu_lock');
    expect(m.warnings).toContain('line 266: the entry for kvm->mmu_lock has no Type');
  });

  it('looksLikeLockingDoc accepts all seven versions; extraction leaves them unchanged', () => {
    for (const [name, text] of docs) {
      expect(looksLikeLockingDoc(text), name).toBe(true);
      const e = extractLockingDoc(text);
      expect(e?.text, name).toBe(text);
      expect(e?.lineMap, name).toBeUndefined();
    }
  });
});

describe.skipIf(!fs.existsSync(SEEDS))('raw captures (seeds)', () => {
  const seed = (prefix: string) => {
    const f = fs.readdirSync(SEEDS).find((n) => n.startsWith(prefix));
    if (!f) throw new Error(`seed ${prefix} missing`);
    return fs.readFileSync(path.join(SEEDS, f), 'utf8');
  };
  const doc = (name: string) => parseLockingDoc(fs.readFileSync(path.join(DOCS, name), 'utf8'), name);
  const fromSeed = (prefix: string) => {
    const e = extractLockingDoc(seed(prefix));
    expect(e).not.toBeNull();
    return { e: e!, m: parseLockingDoc(e!.text, prefix) };
  };

  it('000: a diff whose new side is the 5.5 rst (with NBSPs) reads exactly as the clean 5.5 document', () => {
    const { e, m } = fromSeed('000_');
    expect(e.note).toMatch(/unified diff: took the new side/);
    expect(rules(m)).toEqual(rules(doc('locking-5.5.rst')));
  });

  it('001: a git-blame page of 5.10 reads exactly as the clean 5.10 document', () => {
    const { e, m } = fromSeed('001_');
    expect(e.note).toMatch(/git blame/);
    expect(rules(m)).toEqual(rules(doc('locking-5.10.rst')));
    expect(e.lineMap?.[0]).toBe(6); // the page header takes five lines
  });

  it('003: a web page of 3.x with line numbers, NBSPs and dropped blank lines reads as 3.x, same lines', () => {
    const { e, m } = fromSeed('003_');
    expect(e.note).toMatch(/line numbers stripped/);
    expect(e.note).toMatch(/blank line\(s\) the capture left out restored/);
    expect(rules(m)).toEqual(rules(doc('locking-3.x.txt')));
    const raw = seed('003_').split('\n');
    const at = e.lineMap![133]; // document line 134: "Name: kvm_lock"
    expect(raw[at - 1].startsWith('134 Name:')).toBe(true);
  });

  it('004: a vendor-tree diff adding 4.14 reads exactly as the clean 4.14 document', () => {
    const { e, m } = fromSeed('004_');
    expect(e.note).toMatch(/unified diff/);
    expect(rules(m)).toEqual(rules(doc('locking-4.14.txt')));
  });

  it('002: the Atom feed is decoded but holds no whole document: unknown, use built-in', () => {
    const { e, m } = fromSeed('002_');
    expect(e.note).toMatch(/Atom feed/);
    expect(e.text).toContain('Commit to the vcpu->mutex => kvm->slots_lock ordering');
    expect(e.text).not.toMatch(/&(gt|lt|amp|quot|#39);/);
    expect(m.format).toBe('unknown');
    expect(m.orders).toEqual([]);
    expect(m.warnings.some((w) => /built-in rules/.test(w))).toBe(true);
  });

  it('raw seeds are not taken for clean documents (so callers extract them first), and never throw', () => {
    for (const f of fs.readdirSync(SEEDS)) {
      const raw = fs.readFileSync(path.join(SEEDS, f), 'utf8');
      expect(looksLikeLockingDoc(raw), f).toBe(false);
      const m = parseLockingDoc(raw, f);
      expect(m.warnings.filter((w) => w.startsWith('internal error'))).toEqual([]);
    }
  });
});

describe('wordings of intermediate kernel versions', () => {
  it('"X is an rwlock.  A and B are taken inside X, and cannot be taken without already holding X"', () => {
    const doc = [
      'Acquisition Orders',
      '------------------',
      '',
      'On x86:',
      '',
      '- kvm->arch.mmu_lock is an rwlock.  kvm->arch.tdp_mmu_pages_lock and',
      '  kvm->arch.mmu_unsync_pages_lock are taken inside kvm->arch.mmu_lock, and',
      '  cannot be taken without already holding kvm->arch.mmu_lock (typically with',
      '  ``read_lock`` for the TDP MMU).',
    ].join('\n');
    const m = parseLockingDoc(doc, 'x');
    expect(m.typeNotes).toEqual([{ lock: 'kvm->arch.mmu_lock', type: 'rwlock', arch: 'x86', line: 6 }]);
    expect(m.orders.map((o) => [o.outer, o.inner, o.arch, o.line])).toEqual([
      ['kvm->arch.mmu_lock', 'kvm->arch.tdp_mmu_pages_lock', 'x86', 6],
      ['kvm->arch.mmu_lock', 'kvm->arch.mmu_unsync_pages_lock', 'x86', 6],
    ]);
    expect(m.mustAlsoHold.map((r) => [r.lock, r.mustHold, r.arch])).toEqual([
      ['kvm->arch.tdp_mmu_pages_lock', 'kvm->arch.mmu_lock', 'x86'],
      ['kvm->arch.mmu_unsync_pages_lock', 'kvm->arch.mmu_lock', 'x86'],
    ]);
    expect(m.warnings).toEqual(['no "Reference" section found; the document may be truncated']);
  });
});
