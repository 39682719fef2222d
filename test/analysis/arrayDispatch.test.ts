/**
 * VM exits dispatched through arrays of function pointers (`handlers[reason](vcpu)`): the front
 * end records the array's initializer as bindings with field `[]` and the call as an indirect call
 * through that array; the index resolves it to that array's functions only. Fixtures:
 * test/fixtures/lock-order/exit-handler-array.c, test/fixtures/srcu-required/exit-handler-array.c.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClassResolver } from '../../server/analysis/classes';
import { buildIndex, callTargets } from '../../server/analysis/index';
import type { CallOp, FieldFunctionBinding } from '../../server/frontend/facts';
import { ALL_CODES, HEADER, REPO, addFile, discoverFixtures, loadEngine, runCase } from '../fixtures/harness';
import { facts, fn, ops, useFrontend } from '../frontend/helpers';

useFrontend();

const LOCK_ORDER = 'test/fixtures/lock-order/exit-handler-array.c';
const SRCU = 'test/fixtures/srcu-required/exit-handler-array.c';
const read = (rel: string) => fs.readFileSync(path.join(REPO, rel), 'utf8');
const arrayBindings = (bs: FieldFunctionBinding[], variable: string) =>
  bs.filter((b) => b.field === '[]' && b.variable === variable).map((b) => b.func);
const calls = (code: string, name: string) => ops(fn(code, name)).filter((o): o is CallOp => o.k === 'call');

describe('front end: arrays of function pointers', () => {
  it('records designated and positional elements as `[]` bindings of the array, skipping NULL and macros', () => {
    const f = facts(read(LOCK_ORDER), LOCK_ORDER);
    expect(arrayBindings(f.bindings, 'demo_exit_handlers')).toEqual(['handle_demo_hlt', 'handle_demo_io', 'handle_demo_reset']);
    expect(arrayBindings(f.bindings, 'demo_fast_handlers')).toEqual(['demo_fast_nop', 'handle_demo_io']);
    for (const b of f.bindings.filter((x) => x.field === '[]')) expect(b.structType).toBeUndefined();
  });

  it('records local arrays of handlers, but not arrays of values', () => {
    const code = `
typedef int (*demo_fn)(struct kvm_vcpu *vcpu);
static int demo_a(struct kvm_vcpu *vcpu) { return 0; }
static int demo_b(struct kvm_vcpu *vcpu) { return 1; }
int demo_local(struct kvm_vcpu *vcpu, u64 addr, unsigned int size, int i)
{
	static const demo_fn table[] = { demo_a, [1] = demo_b };
	u64 data[2] = { addr, size };
	return table[i & 1](vcpu) + (int)data[0];
}`;
    const f = facts(code);
    expect(arrayBindings(f.bindings, 'table')).toEqual(['demo_a', 'demo_b']);
    expect(arrayBindings(f.bindings, 'data')).toEqual([]);
    const c = calls(code, 'demo_local').find((o) => o.indirect?.field === '[]');
    expect(c?.callee).toBe('table[]');
  });

  it('turns `arr[i](...)` and `(*arr[i])(...)` into indirect calls through that array', () => {
    const code = read(LOCK_ORDER);
    const slow = calls(code, 'demo_handle_exit').find((o) => o.indirect);
    expect(slow?.callee).toBe('demo_exit_handlers[]');
    expect(slow?.indirect).toMatchObject({ table: 'demo_exit_handlers', field: '[]' });
    const fast = calls(code, 'demo_handle_fast_exit').find((o) => o.indirect);
    expect(fast?.callee).toBe('demo_fast_handlers[]');
    expect(fast?.indirect).toMatchObject({ table: 'demo_fast_handlers', field: '[]' });
  });
});

describe('index: an array call reaches that array only', () => {
  it('resolves each dispatcher to its own array and resolves unknown arrays to nothing', () => {
    const f = facts(read(LOCK_ORDER), LOCK_ORDER);
    const index = buildIndex([f]);
    const targets = (name: string) => {
      const c = f.functions.find((x) => x.name === name)!.blocks.flatMap((b) => b.ops).find((o): o is CallOp => o.k === 'call' && !!o.indirect)!;
      return callTargets(index, new ClassResolver(index), c).sort();
    };
    expect(targets('demo_handle_exit')).toEqual(['handle_demo_hlt', 'handle_demo_io', 'handle_demo_reset']);
    expect(targets('demo_handle_fast_exit')).toEqual(['demo_fast_nop', 'handle_demo_io']);
    const unknown: CallOp = { k: 'call', api: 'x', callee: 'other[]', args: [], range: f.functions[0].range, indirect: { table: 'other', field: '[]', text: 'other[i]' } };
    expect(callTargets(index, new ClassResolver(index), unknown)).toEqual([]);
  });
});

const loaded = await loadEngine();

describe.skipIf('reason' in loaded)('checks through an exit-handler array', () => {
  it('lock-order: the chain from vcpu->mutex names the handler reached through the array', async () => {
    if ('reason' in loaded) return;
    const c = discoverFixtures().find((x) => x.name === 'lock-order/exit-handler-array.c')!;
    const run = await runCase(loaded.engine, c);
    const orders = run.findings.filter((f) => f.code === 'lock-order');
    expect(orders).toHaveLength(1);
    const text = orders[0].related.map((r) => `${r.file}:${r.range.start.line + 1}: ${r.message}`).join('\n');
    expect(text).toMatch(/handle_demo_reset/);
    const src = read(LOCK_ORDER).split('\n');
    const takenLine = src.findIndex((l) => l.includes('mutex_lock(&kvm->lock)')) + 1;
    expect(orders[0].related.some((r) => r.range.start.line + 1 === takenLine), text).toBe(true);
    expect(text).not.toMatch(/demo_fast_nop/);
  });

  it('srcu-required: a handler dispatched under the run loop\'s SRCU read lock is no entry point', async () => {
    if ('reason' in loaded) return;
    const engine = loaded.engine;
    const codes: Record<string, { enabled: boolean }> = {};
    for (const code of ALL_CODES) codes[code] = { enabled: true };
    const analyse = async (text: string) => {
      const ws = await engine.createWorkspace({ rules: engine.builtinRules(), codes });
      addFile(engine, ws, HEADER, read(HEADER));
      addFile(engine, ws, SRCU, text);
      return [...ws.analyze().findings.values()].flat().filter((f) => f.code === 'srcu-required');
    };
    const text = read(SRCU);
    expect(await analyse(text)).toEqual([]);
    // The same file with the array call taken out: the handler has no caller and is reported.
    const undispatched = text.replace('return demo_exit_handlers[reason](vcpu);', 'return 1;');
    expect(undispatched).not.toBe(text);
    const found = await analyse(undispatched);
    expect(found.map((f) => f.message).join('\n')).toMatch(/demo_handle_ghcb_exit/);
  });
});
