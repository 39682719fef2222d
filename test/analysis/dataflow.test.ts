import { describe, expect, it } from 'vitest';
import { ClassResolver } from '../../server/analysis/classes';
import { analyzeFunction } from '../../server/analysis/dataflow';
import { buildIndex } from '../../server/analysis/index';
import { SummarySolver } from '../../server/analysis/summaries';
import { expandChain } from '../../server/analysis/chains';
import { acq, assertHeld, call, fileFacts, fnCfg, fnLinear, param, path, rel } from './factsBuilder';
import type { FileFacts } from '../../server/frontend/facts';

const T = { kvm: 'kvm', vcpu: 'kvm_vcpu', s: 'kvm_pic' };

function solve(files: FileFacts[]) {
  const index = buildIndex(files);
  const resolver = new ClassResolver(index);
  const solver = new SummarySolver(index, resolver);
  solver.solve(index, resolver, true);
  return { index, resolver, solver };
}

describe('lockset dataflow', () => {
  it('tracks held locks along paths and prunes edges by flag values', () => {
    // if (!mutex_lock_killable(&kvm->lock)) { ...; mutex_unlock(); } return
    const lock = path('kvm->lock', T);
    const a = acq(lock, 'mutex', { resultVar: 'r', heldWhen: 'zero', api: 'mutex_lock_killable' });
    const c = call('work', []);
    const fn = fnCfg('f', 'x.c', [param('kvm', 'kvm')], [
      { ops: [a], succ: [{ to: 1, cond: { variable: 'r', value: 'zero' } }, { to: 2, cond: { variable: 'r', value: 'nonzero' } }] },
      { ops: [c, rel(lock)], succ: [{ to: 3 }], ret: true },
      { ops: [], succ: [{ to: 3 }], ret: true },
    ]);
    const { index, resolver, solver } = solve([fileFacts('x.c', [fn])]);
    const flow = analyzeFunction(fn, { index, resolver, summaryOf: solver.summaryOf });
    expect(flow.contexts.get(c)!.map((x) => x.held.map((h) => h.cls))).toEqual([['kvm.lock']]);
    expect(flow.exits.every((e) => e.state.held.length === 0)).toBe(true);
    expect(flow.truncated).toBe(false);
  });

  it('applies callee net effects: returns holding, releases the caller\'s lock, mapped through arguments', () => {
    const sLock = path('s->lock', T);
    const picLock = fnLinear('pic_lock', 'i8259.c', [param('s', 'kvm_pic')], [acq(sLock, 'spinlock')]);
    const picUnlock = fnLinear('pic_unlock', 'i8259.c', [param('s', 'kvm_pic')], [rel(sLock, 'spinlock')]);
    const mid = call('do_work', []);
    const user = fnLinear('pic_user', 'i8259.c', [param('pic', 'kvm_pic')], [
      call('pic_lock', [path('pic', { pic: 'kvm_pic' })]),
      mid,
      call('pic_unlock', [path('pic', { pic: 'kvm_pic' })]),
    ]);
    const { solver } = solve([fileFacts('i8259.c', [picLock, picUnlock, user])]);
    expect(solver.summaries.get('pic_lock')!.effects.map((e) => [e.effect, e.cls, e.conditional])).toEqual([['acquire', 'kvm_pic.lock', false]]);
    expect(solver.summaries.get('pic_unlock')!.effects.map((e) => [e.effect, e.cls])).toEqual([['release', 'kvm_pic.lock']]);
    const flow = solver.flows.get('pic_user')!;
    const held = flow.contexts.get(mid)![0].held;
    expect(held.map((h) => [h.cls, h.inst, h.via])).toEqual([['kvm_pic.lock', 'pic:lock', 'pic_lock']]);
    expect(flow.exits[0].state.held).toEqual([]);
    expect(solver.summaries.get('pic_user')!.effects).toEqual([]);
  });

  it('summarises transitive takes with the shortest chain, requirements and sleeping', () => {
    const leaf = fnLinear('leaf', 'b.c', [param('kvm', 'kvm')], [acq(path('kvm->slots_lock', T)), rel(path('kvm->slots_lock', T))]);
    const midFn = fnLinear('mid', 'b.c', [param('kvm', 'kvm')], [assertHeld(path('kvm->lock', T)), call('leaf', [path('kvm', T)])]);
    const top = fnLinear('top', 'a.c', [param('kvm', 'kvm')], [call('mid', [path('kvm', T)])]);
    const { solver } = solve([fileFacts('b.c', [leaf, midFn]), fileFacts('a.c', [top])]);
    const t = solver.summaries.get('top')!.takes.get('kvm.slots_lock')!;
    const chain = expandChain(t, 'takes', solver.summaryOf);
    expect(chain.map((s) => `${s.function}: ${s.what}`)).toEqual(['top: calls mid', 'mid: calls leaf', 'leaf: takes kvm.slots_lock']);
    expect(solver.summaries.get('mid')!.requires.map((r) => [r.cls, r.how])).toEqual([['kvm.lock', 'assert']]);
    // The requirement propagates to a caller that does not hold it.
    expect(solver.summaries.get('top')!.requires.map((r) => r.cls)).toEqual(['kvm.lock']);
    expect(solver.summaries.get('top')!.maySleep?.depth).toBe(3);
  });

  it('solves recursion to a fixpoint', () => {
    const a = fnLinear('ping', 'r.c', [param('kvm', 'kvm')], [call('pong', [path('kvm', T)])]);
    const b = fnLinear('pong', 'r.c', [param('kvm', 'kvm')], [call('ping', [path('kvm', T)]), acq(path('kvm->irq_lock', T)), rel(path('kvm->irq_lock', T))]);
    const { solver } = solve([fileFacts('r.c', [a, b])]);
    expect([...solver.summaries.get('ping')!.takes.keys()]).toEqual(['kvm.irq_lock']);
  });

  it('resolves indirect calls through struct field bindings, never guessing', () => {
    const impl = fnLinear('svm_vcpu_load', 'svm.c', [param('vcpu', 'kvm_vcpu')], [acq(path('vcpu->kvm->lock', T)), rel(path('vcpu->kvm->lock', T))]);
    const ind = call('kvm_x86_call(vcpu_load)', [path('vcpu', T)], { table: 'kvm_x86_ops', field: 'vcpu_load' });
    const unknown = call('ops->frob', [], { field: 'frob' });
    const caller = fnLinear('load', 'x86.c', [param('vcpu', 'kvm_vcpu')], [ind, unknown]);
    const svm = fileFacts('svm.c', [impl], [], {
      bindings: [{ structType: 'kvm_x86_ops', variable: 'svm_x86_ops', field: 'vcpu_load', func: 'svm_vcpu_load', range: { start: { line: 0, column: 0 }, end: { line: 0, column: 1 } } }],
    });
    const { solver } = solve([svm, fileFacts('x86.c', [caller])]);
    const flow = solver.flows.get('load')!;
    expect(flow.targets.get(ind)).toEqual(['svm_vcpu_load']);
    expect(flow.targets.get(unknown)).toEqual([]);
    expect([...solver.summaries.get('load')!.takes.keys()]).toEqual(['kvm.lock']);
  });

  it('types the object of an indirect call, checks its arguments, and leaves parameter calls to the callers', () => {
    const bind = (structType: string | undefined, field: string, func: string) => ({ structType, variable: 'v', field, func, range: { start: { line: 0, column: 0 }, end: { line: 0, column: 1 } } });
    // Two ops tables with a field of the same name, and a file operation with a different arity.
    const emuSetGdt = fnLinear('emulator_set_gdt', 'x86.c', [param('ctxt', 'x86_emulate_ctxt'), param('dt', 'desc_ptr')], []);
    const vmxSetGdt = fnLinear('vmx_set_gdt', 'vmx.c', [param('vcpu', 'kvm_vcpu'), param('dt', 'desc_ptr')], [acq(path('vcpu->kvm->lock', T)), rel(path('vcpu->kvm->lock', T))]);
    const statsRead = fnLinear('demo_stats_read', 'stats.c', [param('file', 'file'), param('buf', 'char'), param('size', 'size_t'), param('pos', 'loff_t')], [acq(path('kvm->lock', T)), rel(path('kvm->lock', T))]);
    const ctxtPath = path('ctxt->ops', { ctxt: 'x86_emulate_ctxt' });
    const typed = call('ctxt->ops->set_gdt', [path('ctxt'), null], { field: 'set_gdt', obj: ctxtPath });
    // `timecounter->cc` goes through a struct this workspace has no layout of.
    const outside = call('timecounter->cc->read', [path('timecounter->cc')], { field: 'read', obj: { text: 'timecounter->cc', base: { kind: 'global', name: 'timecounter', type: 'timecounter' }, fields: ['cc'] } });
    const viaParam = call('get', [path('ctxt'), null], { field: 'set_gdt', param: true });
    const caller = fnLinear('em_lgdt', 'emulate.c', [param('ctxt', 'x86_emulate_ctxt')], [typed, outside, viaParam]);
    const files = [
      fileFacts('x86.c', [emuSetGdt], [], { bindings: [bind('x86_emulate_ops', 'set_gdt', 'emulator_set_gdt')] }),
      fileFacts('vmx.c', [vmxSetGdt], [], { bindings: [bind('kvm_x86_ops', 'set_gdt', 'vmx_set_gdt')] }),
      fileFacts('stats.c', [statsRead], [], { bindings: [bind('file_operations', 'read', 'demo_stats_read')] }),
      fileFacts('emulate.c', [caller], [{ name: 'x86_emulate_ctxt', file: 'emulate.c', fields: [{ name: 'ops', type: 'x86_emulate_ops', pointer: true }] }]),
    ];
    const { solver } = solve(files);
    const flow = solver.flows.get('em_lgdt')!;
    expect(flow.targets.get(typed)).toEqual(['emulator_set_gdt']);
    expect(flow.targets.get(outside)).toEqual([]);
    expect(flow.targets.get(viaParam)).toEqual([]);
    expect(solver.summaries.get('em_lgdt')!.takes.size).toBe(0);
  });

  it('prefers non-weak, non-stub definitions', () => {
    const weak = { ...fnLinear('kvm_arch_thing', 'virt/kvm/kvm_main.c', [], []), isWeak: true };
    const real = fnLinear('kvm_arch_thing', 'arch/x86/kvm/x86.c', [param('kvm', 'kvm')], [acq(path('kvm->lock', T)), rel(path('kvm->lock', T))]);
    const { index } = solve([fileFacts('virt/kvm/kvm_main.c', [weak]), fileFacts('arch/x86/kvm/x86.c', [real])]);
    expect(index.functions.get('kvm_arch_thing')).toBe(real);
  });
});
