/** The race-demo webview's pure helpers, on real scenario results of the model. */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { listScenarios, runScenario } from '../../model/races';

const M = createRequire(import.meta.url)('../../client/webview/raceModel.js');

describe('race webview model', () => {
  const ids = listScenarios().map((s) => s.id);

  it.each(ids)('%s buggy: frame 0 is the initial state, then one frame per step, violation on the last', (id) => {
    const r = runScenario(id, 'buggy');
    const frames = M.framesOf(r);
    expect(r.counterexample).not.toBeNull();
    expect(frames).toHaveLength(r.counterexample!.length + 1);
    expect(frames[0].actor).toBeNull();
    expect(frames[0].state).toEqual(r.initialState);
    expect(M.violationFrame(r)).toBe(frames.length - 1);
    expect(M.brokenInvariantText(r)).toBe(r.invariant!.message);
    expect(M.columnsOf(r)).toEqual(r.actors);
  });

  it.each(ids)('%s fixed: no violation frame and the "no violation in N interleavings" verdict', (id) => {
    const r = runScenario(id, 'fixed');
    expect(M.violationFrame(r)).toBe(-1);
    expect(M.framesOf(r)).toHaveLength(1);
    expect(M.verdictText(r)).toBe(`No violation in ${M.formatCount(r.interleavings)} interleavings`);
  });

  it('finds the SPTE in the state and reports which bits a step changed', () => {
    const r = runScenario('lost-dirty-bit', 'buggy');
    const frames = M.framesOf(r);
    const { sptes, fields } = M.flattenState(frames[0].state);
    expect(sptes.map((s: { path: string }) => s.path)).toEqual(['spte']);
    expect(fields.map((f: { path: string }) => f.path)).toContain('guestWrote');
    // some step of the lost-dirty-bit race sets W (fast page fault's cmpxchg)
    const setsW = frames.findIndex((f: { state: unknown }, i: number) => i > 0 && M.changedPaths(frames[i - 1].state, f.state).has('spte.w'));
    expect(setsW).toBeGreaterThan(0);
    expect((frames[setsW].state as { spte: { w: boolean } }).spte.w).toBe(true);
    // and reading the SPTE changes nothing
    expect(M.changedPaths(frames[0].state, frames[1].state).size).toBe(0);
  });

  it('encodes the SPTE in the 6.12 EPT layout', () => {
    const spte = { present: true, r: true, w: false, x: true, accessed: true, dirty: false, adDisabled: false, savedR: false, savedX: false, hostWritable: true, mmuWritable: true, pfn: 1 };
    // bits 63 (suppress #VE), 58, 57, 12 (pfn 1), 11, 8, 2, 0
    expect(M.eptHex(spte)).toBe('0x8600000000001905');
    expect(M.eptHex({ ...spte, present: false })).toBe('0x8000000000000000');
  });

  it('formats statistics without locale surprises', () => {
    expect(M.summaryText({ statesExplored: 1234567, interleavings: 30, ms: 4.567 })).toBe('1\u202f234\u202f567 states · 30 interleavings · 4.6 ms');
    expect(M.docRefText({ document: 'locking.rst', section: '2. Exception', story: '2) Dirty bit tracking' })).toBe(
      'locking.rst § 2. Exception, 2) Dirty bit tracking',
    );
  });
});
