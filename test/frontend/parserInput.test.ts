/**
 * What tree-sitter is given, and what it is spared: annotations blanked (annotations.ts) and
 * tracepoint headers not parsed at all (traceHeaders.ts). Neither may change what the extraction
 * finds; both are there for speed (and the first for fewer ERROR nodes).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initFrontend, parseAndExtract, SourceFile } from '../../server/frontend/index';
import { extractFacts } from '../../server/frontend/extract';
import { getParser } from '../../server/frontend/parser';
import { parserText, splitIfDirectives, widenToWords } from '../../server/frontend/annotations';
import { isTracepointHeader } from '../../server/frontend/traceHeaders';
import { collectCFiles } from '../../server/cli/files';

const KERNEL = path.resolve(__dirname, '../../../kernel');

beforeAll(async () => {
  await initFrontend();
});

describe('annotations the parser does not see', () => {
  it('are blanked with their length kept; __weak, annotations with arguments and longer words are kept', () => {
    const text = 'static int __init f(void __user *p, struct x __rcu *q) __must_hold(&kvm->lock);\nint __weak g(void);\nint __user_ptr, my__init, __init2;\n';
    const out = parserText(text);
    expect(out.length).toBe(text.length);
    expect(out).toBe(
      'static int        f(void        *p, struct x       *q) __must_hold(&kvm->lock);\nint __weak g(void);\nint __user_ptr, my__init, __init2;\n',
    );
  });

  it('cost the extraction nothing: a definition behind them is found, with its __weak and its lines', () => {
    const text = 'static noinstr void enter(struct kvm_vcpu *vcpu)\n{\n\tspin_lock(&vcpu->kvm->mmu_lock);\n}\n\nint __weak __init arch_hook(void __user *argp)\n{\n\treturn 0;\n}\n';
    const facts = parseAndExtract('t.c', text);
    expect(facts.functions.map((f) => [f.name, f.range.start.line, f.isWeak])).toEqual([
      ['enter', 0, false],
      ['arch_hook', 5, true],
    ]);
  });

  it('make an edit cover the whole lines it touches', () => {
    const text = 'int a;\nint __ini foo;\nint b;';
    // Typing the `t` of `__init` changes how the whole word is parsed.
    expect(widenToWords(text, 16, 16)).toEqual({ start: 7, oldEnd: 21 });
    expect(widenToWords(text, 2, 9)).toEqual({ start: 0, oldEnd: 21 });
    expect(widenToWords(text, 21, 22)).toEqual({ start: 7, oldEnd: 28 });
  });
});

describe('iterator macros the parser sees as while loops', () => {
  const TEXT = [
    '#define kvm_for_each_demo(i, v, kvm) for (i = 0; (v = get(kvm, i)); i++)',
    'static void timer_init(struct kvm *kvm)',
    '{',
    '\tint cpu;',
    '',
    '\tfor_each_online_cpu(cpu)',
    '\t\tsmp_call_function_single(cpu, tsc_changed, NULL, 1);',
    '\tfor_each_vcpu_locked(kvm, visit);',
    '\tkvm_for_each_vcpu(i, vcpu, kvm) {',
    '\t\tmutex_lock(&vcpu->mutex);',
    '\t}',
    '}',
    '',
    'static void for_each_vcpu_locked(struct kvm *kvm, visit_t visit)',
    '{',
    '\tmutex_lock(&kvm->lock);',
    '\tmutex_unlock(&kvm->lock);',
    '}',
    '',
  ].join('\n');

  it('rewrites only loops at a statement start, with their lengths kept', () => {
    const out = parserText(TEXT);
    expect(out.length).toBe(TEXT.length);
    const lines = out.split('\n');
    expect(lines[0]).toBe(TEXT.split('\n')[0]);
    expect(lines[5]).toBe('\twhile              (cpu)');
    expect(lines[7]).toBe('\tfor_each_vcpu_locked(kvm, visit);');
    expect(lines[8]).toBe('\twhile            (i, vcpu, kvm) {');
    expect(lines[13]).toBe('static void for_each_vcpu_locked(struct kvm *kvm, visit_t visit)');
  });

  it('rewrites a loop after a comment (the statement before it ends behind the comment)', () => {
    const text = '\tx = 1; /* note */\n\tfor_each_sp(kvm, sp) {\n\t}\n\ty = 2; // why\n\tfor_each_sp(kvm, sp)\n\t\tz++;\n\tf(a /* b */ for_each_sp(kvm, sp));\n';
    const lines = parserText(text).split('\n');
    expect(lines[1]).toBe('\twhile      (kvm, sp) {');
    expect(lines[4]).toBe('\twhile      (kvm, sp)');
    expect(lines[6]).toBe('\tf(a /* b */ for_each_sp(kvm, sp));');
  });

  it('rewrites scoped_guard() only when a statement without braces follows it', () => {
    const text = '\tscoped_guard(read_lock, &kvm->mmu_lock)\n\t\tok = lookup(vcpu);\n\tscoped_guard(spinlock, &x->lock) {\n\t}\n\tmy_scoped_guard(a) b;\n';
    const lines = parserText(text).split('\n');
    expect(lines[0]).toBe('\twhile       (read_lock, &kvm->mmu_lock)');
    expect(lines[2]).toBe('\tscoped_guard(spinlock, &x->lock) {');
    expect(lines[4]).toBe('\tmy_scoped_guard(a) b;');
  });

  it('keeps what follows a loop without braces (an ERROR there lost the rest of a RHEL 7 x86.c)', () => {
    const facts = parseAndExtract('t.c', TEXT);
    expect(facts.functions.map((f) => [f.name, f.hasErrors])).toEqual([
      ['timer_init', false],
      ['for_each_vcpu_locked', false],
    ]);
    const calls = facts.functions[0].blocks.flatMap((b) => b.ops).filter((o) => o.k === 'call').map((o) => (o as { callee: string }).callee);
    expect(calls).toEqual(['smp_call_function_single', 'for_each_vcpu_locked']);
  });

  it('gives an incremental parse the facts of a fresh one when an edit on one line turns a call on another into a loop', () => {
    const text = TEXT.replace('\tfor_each_vcpu_locked(kvm, visit);', '\tfor_each_vcpu_locked(kvm,\n\t\t\t     visit);');
    const src = new SourceFile('t.c', text);
    // The `;` after the arguments, a line below the name, becomes a body: now a loop.
    const at = text.indexOf('visit);') + 'visit)'.length;
    const line = text.slice(0, at).split('\n').length - 1;
    const col = at - (text.lastIndexOf('\n', at - 1) + 1);
    const edited = text.slice(0, at) + '\n\t\tkick(kvm)' + text.slice(at);
    src.update(edited, [{ range: { start: { line, column: col }, end: { line, column: col } }, text: '\n\t\tkick(kvm)' }]);
    // A second edit at file scope re-parses the file with the tree kept through the first one.
    const last = edited.split('\n').length - 1;
    const added = 'int after(void) { return 0; }\n';
    const inc = src.update(edited + added, [{ range: { start: { line: last, column: 0 }, end: { line: last, column: 0 } }, text: added }]);
    const fresh = parseAndExtract('t.c', edited + added);
    const shape = (f: typeof inc) => f.functions.map((fn) => [fn.name, fn.blocks.length, fn.blocks.flatMap((b) => b.ops).map((o) => o.k).join(',')]);
    expect(shape(inc)).toEqual(shape(fresh));
  });
});

describe('#ifdef groups that split an if/else', () => {
  const TEXT = [
    'static void f(struct kvm *kvm, bool c)',
    '{',
    '#ifdef CONFIG_X86_64',
    '\tif (c)',
    '\t\ta(kvm);',
    '\telse /* 32-bit */',
    '#endif',
    '\t\tb(kvm);',
    '#ifdef CONFIG_A',
    '\tif (c)',
    '\t\ta(kvm);',
    '\telse',
    '#else',
    '\tif (!c)',
    '#endif',
    '\t\tb(kvm);',
    '#ifdef CONFIG_B',
    '\ta(kvm);',
    '#endif',
    '}',
    '',
  ].join('\n');

  it('lose their directive lines only when an else is next to one and the group has no #else', () => {
    const out = parserText(TEXT).split('\n');
    const lines = TEXT.split('\n');
    expect(out.length).toBe(lines.length);
    expect(out[2]).toBe(' '.repeat(lines[2].length));
    expect(out[6]).toBe(' '.repeat(lines[6].length));
    // The alternatives of #ifdef/#else/#endif, and a group with no else next to it, stay.
    for (const i of [8, 12, 14, 16, 18]) expect(out[i]).toBe(lines[i]);
    expect(splitIfDirectives('#ifdef X\nint a;\n#endif\n')).toEqual([]);
  });

  it('give the else branch as the alternative of the then branch, not as a statement after it', () => {
    const split = TEXT.split('\n').slice(0, 8).join('\n') + '\n}\n';
    const fn = parseAndExtract('t.c', split).functions[0];
    expect(fn.hasErrors).toBe(false);
    // The block calling a() does not flow into the one calling b(): they are two paths.
    const callBlock = (name: string) => fn.blocks.findIndex((b) => b.ops.some((o) => o.k === 'call' && o.callee === name));
    const first = fn.blocks[callBlock('a')];
    expect(first.succ.map((e) => e.to)).not.toContain(callBlock('b'));
  });

  it('give an incremental parse the facts of a fresh one when an edit after the #endif makes its group split an if/else', () => {
    // The group ends before the edited line: an incremental parse may keep its old nodes.
    const text = TEXT.replace('\telse /* 32-bit */\n', '');
    const src = new SourceFile('t.c', text);
    const line = 6;
    expect(text.split('\n')[line]).toBe('\t\tb(kvm);');
    const edited = text.replace('#endif\n\t\tb(kvm);', '#endif\n\telse b(kvm);');
    src.update(edited, [{ range: { start: { line, column: 0 }, end: { line, column: 2 } }, text: '\telse ' }]);
    const last = edited.split('\n').length - 1;
    const added = 'int after(void) { return 0; }\n';
    const inc = src.update(edited + added, [{ range: { start: { line: last, column: 0 }, end: { line: last, column: 0 } }, text: added }]);
    const fresh = parseAndExtract('t.c', edited + added);
    const shape = (f: typeof inc) => f.functions.map((fn) => [fn.name, fn.blocks.map((b) => b.ops.map((o) => o.k).join(',') + '>' + b.succ.map((e) => e.to).join(','))]);
    expect(shape(inc)).toEqual(shape(fresh));
    // The edit made the first group split an if/else: its two directive lines are blanked.
    expect(splitIfDirectives(edited)).toHaveLength(2);
    expect(splitIfDirectives(text)).toHaveLength(0);
  });
});

const TRACE_HEADER = `/* SPDX-License-Identifier: GPL-2.0 */
#if !defined(_TRACE_DEMO_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_DEMO_H

#include <linux/tracepoint.h>

#undef TRACE_SYSTEM
#define TRACE_SYSTEM demo

#define TRACE_DEMO_EXIT(name) \\
TRACE_EVENT(name, TP_PROTO(unsigned int reason), TP_ARGS(reason), \\
	TP_STRUCT__entry(__field(unsigned int, reason)), \\
	TP_fast_assign(__entry->reason = reason;), TP_printk("reason %u", __entry->reason))

TRACE_EVENT(demo_entry,
	TP_PROTO(struct kvm_vcpu *vcpu),
	TP_ARGS(vcpu),
	TP_STRUCT__entry(__field(unsigned int, vcpu_id)),
	TP_fast_assign(__entry->vcpu_id = vcpu->vcpu_id;),
	TP_printk("vcpu %u (%s)", __entry->vcpu_id, ")")
);

DECLARE_EVENT_CLASS(demo_class, TP_PROTO(u64 gfn), TP_ARGS(gfn),
	TP_STRUCT__entry(__field(u64, gfn)), TP_fast_assign(__entry->gfn = gfn;), TP_printk("gfn %llx", __entry->gfn));
DEFINE_EVENT(demo_class, demo_fault, TP_PROTO(u64 gfn), TP_ARGS(gfn));
TRACE_DEMO_EXIT(demo_exit);

#endif /* _TRACE_DEMO_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#include <trace/define_trace.h>
`;

describe('tracepoint headers', () => {
  it('are recognised, and get the empty facts a parse would give, not a "skipped" note', () => {
    expect(isTracepointHeader(TRACE_HEADER)).toBe(true);
    const facts = parseAndExtract('trace.h', TRACE_HEADER);
    expect(facts.skipped).toBeUndefined();
    expect(facts.functions).toEqual([]);
    const parsed = extractFacts('trace.h', TRACE_HEADER, getParser().parse(TRACE_HEADER)!);
    expect([parsed.functions, parsed.structs, parsed.globals, parsed.bindings, parsed.suppressions]).toEqual([[], [], [], [], []]);
  });

  it('are ordinary files as soon as they hold anything else at file scope', () => {
    const helper = TRACE_HEADER.replace('#endif /* _TRACE_DEMO_H */', 'static inline void demo_lock(struct kvm *kvm) { mutex_lock(&kvm->lock); }\n#endif');
    expect(isTracepointHeader(helper)).toBe(false);
    expect(parseAndExtract('trace.h', helper).functions.map((f) => f.name)).toEqual(['demo_lock']);
    const mutex = TRACE_HEADER.replace('#endif /* _TRACE_DEMO_H */', 'static DEFINE_MUTEX(demo_mutex);\n#endif');
    expect(isTracepointHeader(mutex)).toBe(false);
    expect(isTracepointHeader(TRACE_HEADER.replace('#include <trace/define_trace.h>', ''))).toBe(false);
    expect(isTracepointHeader(TRACE_HEADER.replace('/* SPDX', '/* kvm-locklint: ignore lock-order */ /* SPDX'))).toBe(false);
    // Half-typed: an event whose parentheses are not closed yet.
    expect(isTracepointHeader(TRACE_HEADER.replace('TP_ARGS(gfn));', 'TP_ARGS(gfn);'))).toBe(false);
  });

  it('in an open editor: a helper typed into one is found, and gone again when deleted', () => {
    const sf = new SourceFile('trace.h', TRACE_HEADER);
    expect(sf.facts.functions).toEqual([]);
    const at = TRACE_HEADER.indexOf('#endif /* _TRACE_DEMO_H */');
    const helper = 'static inline void demo_lock(struct kvm *kvm) { mutex_lock(&kvm->lock); }\n';
    const line = TRACE_HEADER.slice(0, at).split('\n').length - 1;
    const withHelper = TRACE_HEADER.slice(0, at) + helper + TRACE_HEADER.slice(at);
    sf.update(withHelper, [{ range: { start: { line, column: 0 }, end: { line, column: 0 } }, text: helper }]);
    expect(sf.facts).toEqual(parseAndExtract('trace.h', withHelper));
    expect(sf.facts.functions.map((f) => f.name)).toEqual(['demo_lock']);
    sf.update(TRACE_HEADER, [{ range: { start: { line, column: 0 }, end: { line: line + 1, column: 0 } }, text: '' }]);
    expect(sf.facts.functions).toEqual([]);
    sf.dispose();
  });

  it.skipIf(!fs.existsSync(path.join(KERNEL, 'arch/x86/kvm')))('in the kernel: every KVM trace header is one, and a parse finds nothing in it', () => {
    const headers = collectCFiles([path.join(KERNEL, 'arch'), path.join(KERNEL, 'virt')]).filter((f) => fs.readFileSync(f, 'utf8').includes('trace/define_trace.h'));
    expect(headers.length).toBeGreaterThanOrEqual(2);
    for (const f of headers) {
      const text = fs.readFileSync(f, 'utf8');
      expect(isTracepointHeader(text), f).toBe(true);
      const parsed = extractFacts(f, text, getParser().parse(parserText(text))!);
      expect([parsed.functions, parsed.structs, parsed.globals, parsed.bindings, parsed.suppressions], f).toEqual([[], [], [], [], []]);
    }
  });
});
