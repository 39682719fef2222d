/**
 * SourceFile.update after edits: the facts must equal a fresh extraction of the new text, whether
 * the edit was handled by re-parsing only the edited function, by the incremental re-parse of the
 * file with unchanged items reused, or without change ranges.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initFrontend, parseAndExtract, SourceFile } from '../../server/frontend/index';
import type { Range } from '../../server/frontend/facts';

beforeAll(async () => {
  await initFrontend();
});

/** The LSP change that replaces text[off, off + del) by `ins`. */
function change(text: string, off: number, del: number, ins: string): { next: string; ch: { range: Range; text: string } } {
  const pos = (o: number) => {
    const before = text.slice(0, o);
    const line = before.split('\n').length - 1;
    return { line, column: o - (before.lastIndexOf('\n') + 1) };
  };
  return { next: text.slice(0, off) + ins + text.slice(off + del), ch: { range: { start: pos(off), end: pos(off + del) }, text: ins } };
}

const SOURCE = `
#include <linux/kvm_host.h>

static DEFINE_MUTEX(top_lock);

static int __init early(void)
{
	mutex_lock(&top_lock);
	mutex_unlock(&top_lock);
	return 0;
}

int user(struct kvm *kvm)
{
	static DEFINE_SPINLOCK(inner_lock);

	spin_lock(&inner_lock);
	spin_unlock(&inner_lock);
	return 0;
}

#ifdef CONFIG_X
void later(struct kvm *kvm)
{
	spin_lock(&inner_lock);
	spin_unlock(&inner_lock);
}
#endif

static struct kvm_x86_ops ops = {
	.vcpu_load = later,
};

void last(struct kvm *kvm)
{
	const struct kvm_mmu_notifier_range range = { .handler = later };

	mutex_lock(&kvm->slots_lock);
	if (kvm->x)
		goto out;
	write_lock(&kvm->mmu_lock);
	write_unlock(&kvm->mmu_lock);
out:
	mutex_unlock(&kvm->slots_lock);
}
`;

function expectSame(sf: SourceFile, text: string, what: string): void {
  const fresh = parseAndExtract('t.c', text);
  const got = sf.facts;
  // One comparison per part, so that a failure names it. Not errorCount: tree-sitter's error
  // recovery may count one ERROR node more or less after an incremental parse than after a fresh
  // one of the same text (seen with an exact edit, no kvm-locklint code involved); nothing reads it.
  for (const key of Object.keys(fresh) as (keyof typeof fresh)[]) if (key !== 'errorCount') expect(got[key], `${key} after ${what}`).toEqual(fresh[key]);
}

describe('SourceFile incremental updates equal a fresh extraction', () => {
  it('an edit inside a body keeps the static locks of other functions and shifts the rest', () => {
    const sf = new SourceFile('t.c', SOURCE);
    const at = SOURCE.indexOf('\tmutex_unlock(&top_lock);');
    const { next, ch } = change(SOURCE, at, 0, '\tmight_sleep();\n\tfoo(kvm);\n');
    sf.update(next, [ch]);
    expectSame(sf, next, 'a body edit');
    // `inner_lock` is a global for `later` only because `user` defines it.
    const later = sf.facts.functions.find((f) => f.name === 'later')!;
    const op = later.blocks.flatMap((b) => b.ops).find((o) => o.k === 'acquire');
    expect(op && op.k === 'acquire' && op.lock.base.kind).toBe('global');
    expect(later.range.start.line).toBe(parseAndExtract('t.c', next).functions.find((f) => f.name === 'later')!.range.start.line);
    sf.dispose();
  });

  it('random edits, with and without change ranges, in sequence', () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const pieces = ['\tcond_resched();\n', 'x', '}', '{', '/*', '*/', '"', '\n', '#if 0\n', '#endif\n', 'static DEFINE_MUTEX(m);\n', '', '\tif (a) {\n', ')', '\tspin_lock(&kvm->mmu_lock);\n'];
    let text = SOURCE;
    const sf = new SourceFile('t.c', text);
    for (let k = 0; k < 150; k++) {
      const off = Math.floor(rnd() * (text.length + 1));
      const del = rnd() < 0.3 ? Math.floor(rnd() * 12) : 0;
      const ins = pieces[Math.floor(rnd() * pieces.length)];
      const { next, ch } = change(text, off, Math.min(del, text.length - off), ins);
      sf.update(next, rnd() < 0.85 ? [ch] : undefined);
      expectSame(sf, next, `edit ${k}`);
      text = next;
      if (k % 50 === 49) {
        // Back to a clean text now and then, so that later edits are local again.
        text = SOURCE;
        sf.update(text);
        expectSame(sf, text, 'a reset');
      }
    }
    sf.dispose();
  });

  it('typing and deleting an annotation the parser does not see (annotations.ts) keeps the facts fresh', () => {
    const base = `static int foo(void)\n{\n\tmutex_lock(&top_lock);\n\treturn 0;\n}\n\nstatic void bar(void __user *p)\n{\n\tfoo();\n}\n`;
    const sf = new SourceFile('t.c', base);
    let text = base;
    // `static int __init foo(void)`, typed one character at a time, then deleted the same way.
    const at = base.indexOf('foo(void)');
    for (const c of '__init ') {
      const off = at + (text.length - base.length);
      const { next, ch } = change(text, off, 0, c);
      sf.update(next, [ch]);
      expectSame(sf, next, `typing ${JSON.stringify(c)}`);
      text = next;
    }
    expect(sf.facts.functions.map((f) => f.name)).toEqual(['foo', 'bar']);
    for (let i = 0; i < '__init '.length; i++) {
      const { next, ch } = change(text, at + 2, 1, '');
      sf.update(next, [ch]);
      expectSame(sf, next, `deleting at ${i}`);
      text = next;
    }
    // `__user` turned into another word and back.
    const u = text.indexOf('__user') + 2;
    for (const [del, ins] of [[0, 'x'], [1, '']] as const) {
      const { next, ch } = change(text, u, del, ins);
      sf.update(next, [ch]);
      expectSame(sf, next, `editing __user (${ins || 'delete'})`);
      text = next;
    }
    sf.dispose();
  });

  it('several changes in one update', () => {
    const sf = new SourceFile('t.c', SOURCE);
    const a = change(SOURCE, SOURCE.indexOf('\tmutex_unlock(&top_lock);'), 0, '\tfoo();\n');
    const b = change(a.next, a.next.indexOf('\twrite_unlock'), 0, '\tbar();\n\tbaz();\n');
    sf.update(b.next, [a.ch, b.ch]);
    expectSame(sf, b.next, 'two changes');
    sf.dispose();
  });
});

describe('an update keeps the facts of the functions it did not touch (moved in place)', () => {
  const byName = (sf: SourceFile, name: string) => sf.facts.functions.find((f) => f.name === name)!;

  it('an edit inside one body: that function is re-extracted, the ones below keep their facts, moved', () => {
    const sf = new SourceFile('t.c', SOURCE);
    const before = { early: byName(sf, 'early'), user: byName(sf, 'user'), last: byName(sf, 'last') };
    const lastLine = before.last.range.start.line;
    const { next, ch } = change(SOURCE, SOURCE.indexOf('\tspin_unlock(&inner_lock);'), 0, '\tfoo();\n\tbar();\n');
    sf.update(next, [ch]);
    expect(byName(sf, 'user')).not.toBe(before.user);
    expect(byName(sf, 'last')).toBe(before.last);
    expect(byName(sf, 'last').range.start.line).toBe(lastLine + 2);
    expect(byName(sf, 'early')).toBe(before.early);
    sf.dispose();
  });

  it('an edit inside one body: the new facts take over the ranges of the old version that did not change place', () => {
    const sf = new SourceFile('t.c', SOURCE);
    const user = byName(sf, 'user');
    const opsBefore = user.blocks.flatMap((b) => b.ops);
    const unlockAt = SOURCE.indexOf('\tspin_unlock(&inner_lock);');
    const unlock = opsBefore.find((o) => o.k === 'release' && o.api === 'spin_unlock')!;
    const unlockLine = unlock.range.start.line;
    const { next, ch } = change(SOURCE, unlockAt, 0, '\tfoo();\n');
    sf.update(next, [ch]);
    const opsAfter = byName(sf, 'user').blocks.flatMap((b) => b.ops);
    // The unlock moved one line down: same Range object, new line (a caller's chain keeps it).
    const unlockAfter = opsAfter.find((o) => o.k === 'release' && o.api === 'spin_unlock')!;
    expect(unlockAfter.range).toBe(unlock.range);
    expect(unlockAfter.range.start.line).toBe(unlockLine + 1);
    // The new call has a range of its own.
    const foo = opsAfter.find((o) => o.k === 'call' && o.callee === 'foo')!;
    expect(opsBefore.some((o) => o.range === foo.range)).toBe(false);
    sf.dispose();
  });

  it('an edit between functions (whole-file re-parse): the functions below keep their facts, moved', () => {
    const sf = new SourceFile('t.c', SOURCE);
    const last = byName(sf, 'last');
    const line = last.range.start.line;
    const at = SOURCE.indexOf('static struct kvm_x86_ops');
    const { next, ch } = change(SOURCE, at, 0, 'int added(void);\n\n\n');
    sf.update(next, [ch]);
    expect(byName(sf, 'last')).toBe(last);
    expect(last.range.start.line).toBe(line + 3);
    sf.dispose();
  });

});

const KERNEL = path.resolve(__dirname, '../../../kernel');
const MMU = path.join(KERNEL, 'arch/x86/kvm/mmu/mmu.c');

describe.skipIf(!fs.existsSync(MMU))('incremental updates on mmu.c', () => {
  it('statements inserted into and removed from bodies across the file', () => {
    const original = fs.readFileSync(MMU, 'utf8');
    const sf = new SourceFile(MMU, original);
    const lines = original.split('\n');
    let text = original;
    for (const frac of [0.1, 0.35, 0.5, 0.75, 0.95]) {
      let line = Math.floor(lines.length * frac);
      while (line < lines.length && !/^\t\S/.test(lines[line])) line++;
      const off = lines.slice(0, line).join('\n').length + 1;
      const ins = change(text, off, 0, '\tcond_resched();\n');
      sf.update(ins.next, [ins.ch]);
      expect(sf.facts).toEqual(parseAndExtract(MMU, ins.next));
      const del = change(ins.next, off, '\tcond_resched();\n'.length, '');
      sf.update(del.next, [del.ch]);
      expect(sf.facts).toEqual(parseAndExtract(MMU, del.next));
      text = del.next;
    }
    sf.dispose();
  });
});
