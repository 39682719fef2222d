/**
 * callSites finds, for all blocks of a function at once, what lockSupport's isUnconditional and
 * paramGuardedBlocks answer block by block: it must give the same answer on every call and
 * assert op, whatever the shape of the CFG (loops, gotos, early returns, unreachable code).
 */
import { describe, expect, it } from 'vitest';
import type { Block, FunctionFacts, Op } from '../../server/frontend/facts';
import { callSites, GUARDED, UNCONDITIONAL } from '../../server/checks/callSites';
import { blockOf, isUnconditional, paramGuardedBlocks } from '../../server/checks/lockSupport';
import { parseAndExtract } from '../../server/frontend/index';
import { initFrontend } from '../../server/frontend/parser';

const R = { start: { line: 0, column: 0 }, end: { line: 0, column: 0 } };

function expected(fn: FunctionFacts, op: Op): number {
  const u = isUnconditional(fn, op);
  const g = u && op.k === 'call' && paramGuardedBlocks(fn).has(blockOf(fn, op));
  return (u ? UNCONDITIONAL : 0) | (g ? GUARDED : 0);
}

function check(fn: FunctionFacts): number {
  const sites = callSites(fn);
  let n = 0;
  for (const b of fn.blocks)
    for (const op of b.ops) {
      if (op.k !== 'call' && op.k !== 'assert') continue;
      expect(sites.get(op), `${fn.name}: op at block ${blockOf(fn, op)}`).toBe(expected(fn, op));
      n++;
    }
  return n;
}

/** A random CFG: each block calls `f<i>`, has 0-3 successors (some conditioned on parameter `p`). */
function randomFunction(seed: number): FunctionFacts {
  let s = seed;
  const rnd = (k: number): number => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s % k;
  };
  const n = 2 + rnd(14);
  const exit = n - 1;
  const blocks: Block[] = [];
  for (let i = 0; i < n; i++) {
    const ops: Op[] = i === exit ? [] : [{ k: 'call', callee: `f${i}`, range: R, args: [] } as unknown as Op];
    const succ: Block['succ'] = [];
    if (i !== exit) {
      const k = rnd(4);
      for (let j = 0; j < k; j++) {
        const to = rnd(5) === 0 ? exit : rnd(n);
        const cond = rnd(3) === 0 ? { variable: 'p', value: j % 2 ? 'zero' : 'nonzero' } : undefined;
        succ.push({ to, ...(cond ? { cond } : {}) } as Block['succ'][number]);
      }
    }
    blocks.push({ ops, succ });
  }
  return {
    name: `r${seed}`,
    file: 'r.c',
    range: R,
    nameRange: R,
    params: [{ name: 'p', type: 'int', pointer: false }],
    returnType: 'void',
    returnsPointer: false,
    isStatic: true,
    isWeak: false,
    annotations: [],
    blocks,
    entry: rnd(3) === 0 ? rnd(n) : 0,
    exit,
    hasErrors: false,
  };
}

describe('callSites', () => {
  it('answers like isUnconditional and paramGuardedBlocks on random CFGs', () => {
    let ops = 0;
    for (let seed = 1; seed <= 3000; seed++) ops += check(randomFunction(seed));
    expect(ops).toBeGreaterThan(10000);
  });

  it('answers like them on C with loops, gotos, early returns and guarded calls', async () => {
    await initFrontend();
    const text = `
static void walk(struct kvm *kvm, bool flush, int n)
{
	int i;
	lockdep_assert_held(&kvm->mmu_lock);
	first(kvm);
	if (!n)
		return;
	for (i = 0; i < n; i++) {
		if (i & 1)
			continue;
		step_one(kvm, i);
		if (i > 100)
			goto out;
	}
	if (flush)
		flush_all(kvm);
	always(kvm);
out:
	while (1) {
		if (spin(kvm))
			break;
	}
	finish(kvm);
	return;
	dead(kvm);
}
`;
    const facts = parseAndExtract('x.c', text);
    const fn = facts.functions.find((f) => f.name === 'walk')!;
    expect(check(fn)).toBeGreaterThan(5);
    const byCallee = new Map<string, number>();
    for (const [op, bits] of callSites(fn)) if (op.k === 'call') byCallee.set(op.callee, bits);
    expect(byCallee.get('first')).toBe(UNCONDITIONAL);
    expect(byCallee.get('finish')).toBe(UNCONDITIONAL | GUARDED); // only reached when n != 0
    expect(byCallee.get('always')).toBe(0); // the goto skips it and joins after it
    expect(byCallee.get('step_one')).toBe(0);
  });
});
