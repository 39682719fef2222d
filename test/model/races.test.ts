import { describe, expect, it } from 'vitest';
import { listScenarios, renderRaceText, runScenario, type RaceResult, type RaceStep } from '../../model/races';

const IDS = ['lost-dirty-bit', 'gfn-pfn-aba', 'missing-tlb-flush', 'access-track-restore', 'accessed-only'];

/** Index of the first step of `actor` with `stepId` at or after `from`; -1 if none. */
function find(trace: RaceStep[], actor: number, stepId: string, from = 0): number {
  for (let i = from; i < trace.length; i++) if (trace[i].actorIndex === actor && trace[i].stepId === stepId) return i;
  return -1;
}

/** Asserts the (actor, stepId) pairs appear in this order in the counterexample. */
function expectStory(r: RaceResult, story: [number, string][]): void {
  const trace = r.counterexample!;
  let at = 0;
  for (const [actor, stepId] of story) {
    const i = find(trace, actor, stepId, at);
    expect(i, `${r.actors[actor]} ${stepId} after step ${at}`).toBeGreaterThanOrEqual(at);
    at = i + 1;
  }
}

describe('race scenarios', () => {
  it('lists the five scenarios with their document references', () => {
    const list = listScenarios();
    expect(list.map((s) => s.id)).toEqual(IDS);
    for (const s of list) {
      expect(s.title).toMatch(/\w/);
      expect(s.docRef.document).toMatch(/locking/);
      expect(s.actors.length).toBeGreaterThanOrEqual(2);
      expect(s.invariants.length).toBeGreaterThanOrEqual(1);
      expect(s.variants.buggy).not.toBe(s.variants.fixed);
    }
  });

  for (const id of IDS) {
    it(`${id}: the buggy variant has a counterexample, the fixed one none`, () => {
      const buggy = runScenario(id, 'buggy');
      const fixed = runScenario(id, 'fixed');
      expect(buggy.violations).toBeGreaterThan(0);
      expect(buggy.counterexample!.length).toBeGreaterThan(0);
      expect(buggy.invariant).not.toBeNull();
      expect(fixed.violations).toBe(0);
      expect(fixed.counterexample).toBeNull();
      for (const r of [buggy, fixed]) {
        expect(r.truncated).toBe(false);
        expect(r.deadlocks).toBe(0);
        expect(r.interleavingsExact).toBe(true);
        expect(r.interleavings).toBeGreaterThan(1);
      }
    });
  }

  it('lost-dirty-bit: read, then fast page fault sets W and the write sets D, then the plain store wipes D', () => {
    const r = runScenario('lost-dirty-bit', 'buggy');
    expectStory(r, [
      [0, 'read'],
      [0, 'check'],
      [1, 'cmpxchg'],
      [1, 'write'],
      [0, 'plain'],
    ]);
    expect(find(r.counterexample!, 0, 'xchg')).toBe(-1);
    const last = r.counterexample!.at(-1)!.state as { spte: { dirty: boolean }; guestWrote: boolean; pfnDirtyReported: boolean };
    expect(last).toMatchObject({ guestWrote: true, pfnDirtyReported: false, spte: { dirty: false } });
  });

  it('gfn-pfn-aba: pfn1 comes back for gfn2, cmpxchg succeeds, gfn1 is logged and gfn2 lost', () => {
    const r = runScenario('gfn-pfn-aba', 'buggy');
    expectStory(r, [
      [0, 'read'],
      [1, 'zap'],
      [1, 'realloc'],
      [1, 'remap'],
      [1, 'refault'],
      [0, 'cmpxchg'],
      [0, 'write'],
    ]);
    const trace = r.counterexample!;
    expect(trace[find(trace, 1, 'realloc')].step).toContain('pfn1 is re-alloced for gfn2');
    expect(trace[find(trace, 0, 'cmpxchg')].step).toContain('mark_page_dirty(gfn1)');
    expect(trace.at(-1)!.state).toMatchObject({ dirtyLog: [1], written: [2] });
  });

  it('gfn-pfn-aba fixed: with the pfn pinned, the re-created SPTE maps another page', () => {
    const r = runScenario('gfn-pfn-aba', 'fixed');
    expect(r.actors[0]).toContain('pinned');
  });

  it('missing-tlb-flush: a stale read-only view skips the flush and the guest writes through its TLB', () => {
    const r = runScenario('missing-tlb-flush', 'buggy');
    expectStory(r, [
      [0, 'read'],
      [1, 'cmpxchg'],
      [1, 'fill'],
      [0, 'store'],
      [0, 'flush'],
      [0, 'return'],
      [1, 'write'],
    ]);
    const trace = r.counterexample!;
    expect(trace[find(trace, 0, 'flush')].step).toContain('no flush');
  });

  it('access-track-restore: aging marks, the vCPU reads, the notifier zaps, the stale restore resurrects', () => {
    const r = runScenario('access-track-restore', 'buggy');
    expect(r.actors).toHaveLength(3);
    expectStory(r, [
      [0, 'age'],
      [1, 'read'],
      [2, 'zap'],
      [1, 'restore'],
    ]);
    expect(r.counterexample!.at(-1)!.state).toMatchObject({ zapped: true, spte: { present: true } });
  });

  it('accessed-only: an Accessed bit may be lost, a Dirty bit never, and the fixed view calls it tolerated', () => {
    const buggy = runScenario('accessed-only', 'buggy');
    const fixed = runScenario('accessed-only', 'fixed');
    expect(buggy.invariant?.id).toBe('accessed-not-lost');
    expectStory(buggy, [
      [0, 'read'],
      [1, 'access'],
      [0, 'store'],
    ]);
    expect(buggy.counterexample!.find((s) => s.stepId === 'store')!.step).toContain('plain store');
    const tally = (r: RaceResult, id: string) => r.invariants.find((t) => t.id === id)!;
    expect(tally(buggy, 'dirty-not-lost').paths).toBe(0);
    expect(tally(fixed, 'dirty-not-lost').paths).toBe(0);
    expect(tally(fixed, 'accessed-not-lost')).toMatchObject({ tolerated: true });
    expect(tally(fixed, 'accessed-not-lost').paths).toBe(tally(buggy, 'accessed-not-lost').paths);
    expect(fixed.initialStates).toHaveLength(3);
    expect(renderRaceText(fixed)).toMatch(/harmless/);
  });

  it('produces the DESIGN.md JSON shape', () => {
    const r = JSON.parse(JSON.stringify(runScenario('lost-dirty-bit', 'buggy')));
    expect(r).toMatchObject({ id: 'lost-dirty-bit', variant: 'buggy' });
    for (const key of ['statesExplored', 'interleavings', 'violations']) expect(typeof r[key]).toBe('number');
    for (const step of r.counterexample) {
      expect(typeof step.actor).toBe('string');
      expect(typeof step.step).toBe('string');
      expect(step.state).toBeTypeOf('object');
    }
    expect(JSON.parse(JSON.stringify(runScenario('lost-dirty-bit', 'fixed'))).counterexample).toBeNull();
  });

  it('is deterministic', () => {
    const strip = (r: RaceResult) => ({ ...r, ms: 0 });
    expect(strip(runScenario('gfn-pfn-aba', 'buggy'))).toEqual(strip(runScenario('gfn-pfn-aba', 'buggy')));
  });

  it('rejects unknown scenarios and variants', () => {
    expect(() => runScenario('no-such-race', 'buggy')).toThrow(/unknown race/);
    expect(() => runScenario('lost-dirty-bit', 'worse' as never)).toThrow(/variant/);
  });
});

describe('renderRaceText', () => {
  it('draws the counterexample as a CPU 0 | CPU 1 table ending with the broken invariant', () => {
    const r = runScenario('lost-dirty-bit', 'buggy');
    const text = renderRaceText(r);
    const header = text.split('\n').find((l) => l.includes('CPU 0: mmu_spte_update'))!;
    expect(header).toContain('CPU 1: fast page fault');
    expect(text).toContain('At the beginning');
    expect(text).toContain('old_spte = *spte');
    expect(text).toContain('OOPS: The Dirty bit is lost');
    // one bordered row per step (plus the start, header and OOPS rows)
    const borders = text.split('\n').filter((l) => /^\+-/.test(l)).length;
    expect(borders).toBe(r.counterexample!.length + 4);
    expect(text.indexOf('spte.W = 1')).toBeLessThan(text.indexOf('(plain store)'));
  });

  it('prints a one-line all-clear for a fixed variant', () => {
    const r = runScenario('missing-tlb-flush', 'fixed');
    expect(renderRaceText(r)).toContain(`no violation in ${r.interleavings} interleavings (${r.statesExplored} states)`);
  });
});
