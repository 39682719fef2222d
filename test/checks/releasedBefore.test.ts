/**
 * Which locks a function has certainly released before an op (what keeps a callee that drops
 * its caller's lock before sleeping from being blamed): the per-op lookup the exposure solver
 * uses gives what the whole-function map gives, for every op, branches and loops included.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinRules } from '../../model/rules';
import type { FunctionFlow } from '../../server/analysis/types';
import type { CheckContext } from '../../server/checks/check';
import { releasedBefore, releasedBeforeOp } from '../../server/checks/lockSupport';
import { createWorkspace } from '../../server/engine/workspace';

const HEADER = 'test/fixtures/include/kvm_mini.h';
const HEADER_TEXT = fs.readFileSync(path.resolve(__dirname, '../..', HEADER), 'utf8');

// Our own C: a helper that drops the caller's lock, used on some paths, and a loop that unlocks.
const SRC = `#include "../fixtures/include/kvm_mini.h"
static void drop_ioapic(struct kvm_ioapic *ioapic)
{
	spin_unlock(&ioapic->lock);
}

void frob_paths(struct kvm_ioapic *ioapic, struct kvm *kvm, int n)
{
	spin_lock(&ioapic->lock);
	if (n > 2) {
		drop_ioapic(ioapic);
		mutex_lock(&kvm->lock);
		mutex_unlock(&kvm->lock);
	} else {
		spin_unlock(&ioapic->lock);
	}
	mutex_lock(&kvm->slots_lock);
	while (n--) {
		mutex_unlock(&kvm->slots_lock);
		cond_resched();
	}
	mutex_lock(&kvm->lock);
	mutex_unlock(&kvm->lock);
}

void frob_nothing(struct kvm *kvm)
{
	mutex_lock(&kvm->lock);
}
`;

const key = (s: ReadonlySet<string> | undefined): string => [...(s ?? [])].sort().join(',');

describe('released-before lookup per op', () => {
  it('equals the whole-function map for every op', async () => {
    const ws = await createWorkspace({ rules: builtinRules() });
    ws.setFile(HEADER, HEADER_TEXT);
    ws.setFile('test/x/released.c', SRC);
    ws.analyze();
    const ctx = (ws as unknown as { lastCtx: CheckContext }).lastCtx;
    const flows = ctx.flows.filter((f: FunctionFlow) => f.fn.name.startsWith('frob_'));
    expect(flows.length).toBe(2);
    let compared = 0;
    let released = 0;
    for (const flow of flows) {
      const whole = releasedBefore(ctx, flow);
      const at = releasedBeforeOp(ctx, flow);
      for (const b of flow.fn.blocks) {
        for (const op of b.ops) {
          expect(key(at(op))).toBe(key(whole.get(op)));
          compared++;
          if (at(op).size > 0) released++;
        }
      }
    }
    expect(compared).toBeGreaterThan(10);
    // The ops after the if/else have the ioapic lock released on both paths.
    expect(released).toBeGreaterThan(3);
    const paths = flows.find((f) => f.fn.name === 'frob_paths')!;
    const slots = [...paths.locks].find(([op, ref]) => op.k === 'acquire' && /slots_lock/.test(ref.cls));
    expect(slots).toBeDefined();
    expect([...releasedBeforeOp(ctx, paths)(slots![0])].some((c) => /ioapic/.test(c))).toBe(true);
  });
});
