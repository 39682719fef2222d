import { describe, expect, it } from 'vitest';
import { explore } from '../../model/explore/explore';
import { stableKey } from '../../model/explore/stable-key';
import type { Actor, Invariant, Step } from '../../model/explore/types';

type Counters = Record<string, number>;
type NoLocals = Record<string, never>;

/** An actor that increments its own counter n times (independent of everyone else). */
function counter(name: string, n: number): Actor<Counters, NoLocals> {
  const steps: Step<Counters, NoLocals>[] = [];
  for (let i = 0; i < n; i++) {
    steps.push({ id: `inc${i}`, label: `${name}++`, run: (s, l) => ({ state: { ...s, [name]: (s[name] ?? 0) + 1 }, locals: l }) });
  }
  return { name, locals: {}, steps };
}

function factorial(n: number): number {
  return n <= 1 ? 1 : n * factorial(n - 1);
}

describe('explore: counting', () => {
  it('counts C(n+m, n) schedules of two independent actors over (n+1)(m+1) states', () => {
    const r = explore({ initial: [{}], actors: [counter('a', 3), counter('b', 4)], invariants: [] });
    expect(r.interleavings).toBe(factorial(7) / (factorial(3) * factorial(4)));
    expect(r.statesExplored).toBe(4 * 5);
    expect(r.terminalStates).toBe(1);
    expect(r.interleavingsExact).toBe(true);
    expect(r.violations).toBe(0);
    expect(r.counterexample).toBeNull();
  });

  it('counts the multinomial number of schedules for three actors', () => {
    const r = explore({ initial: [{}], actors: [counter('a', 2), counter('b', 2), counter('c', 2)], invariants: [] });
    expect(r.interleavings).toBe(factorial(6) / 8);
    expect(r.statesExplored).toBe(27);
  });

  it('counts each nondeterministic outcome as its own schedule', () => {
    const pick: Actor<{ v: number }, NoLocals> = {
      name: 'p',
      locals: {},
      steps: [{ id: 'pick', label: 'pick', run: (s, l) => [1, 2, 3].map((v) => ({ state: { v }, locals: l, note: `v=${v}` })) }],
    };
    const r = explore({ initial: [{ v: 0 }], actors: [pick], invariants: [] });
    expect(r.interleavings).toBe(3);
    expect(r.terminalStates).toBe(3);
  });

  it('explores every initial state', () => {
    const r = explore({ initial: [{ x: 0 }, { x: 10 }, { x: 0 }], actors: [counter('x', 1)], invariants: [] });
    expect(r.interleavings).toBe(2);
    expect(r.statesExplored).toBe(4);
  });
});

/** The classic lost update: each actor reads the counter, then writes read + 1. */
interface Shared {
  n: number;
}
interface Tmp {
  t: number;
}
function incrementer(name: string): Actor<Shared, Tmp> {
  return {
    name,
    locals: { t: -1 },
    steps: [
      { id: 'read', label: 't = n', run: (s) => ({ state: s, locals: { t: s.n } }) },
      { id: 'write', label: 'n = t + 1', run: (s, l) => ({ state: { n: l.t + 1 }, locals: l }) },
    ],
  };
}
const bothCounted: Invariant<Shared, Tmp> = { id: 'sum', message: 'an increment was lost', when: 'end', holds: (s) => s.n === 2 };

describe('explore: invariants and counterexamples', () => {
  it('finds the lost update in exactly the 4 of 6 schedules where both reads precede both writes', () => {
    const r = explore({ initial: [{ n: 0 }], actors: [incrementer('A'), incrementer('B')], invariants: [bothCounted] });
    expect(r.interleavings).toBe(6);
    expect(r.violations).toBe(4);
    expect(r.brokenInvariant).toEqual({ id: 'sum', message: 'an increment was lost' });
    const trace = r.counterexample!;
    expect(trace).toHaveLength(4);
    expect(trace.slice(0, 2).map((t) => t.stepId)).toEqual(['read', 'read']);
    expect(trace[3].state).toEqual({ n: 1 });
    expect(r.counterexampleInitial).toEqual({ n: 0 });
  });

  it('returns a shortest violating schedule', () => {
    // Actor "slow" breaks the invariant after three steps, actor "fast" after one.
    const steps = (n: number, name: string): Step<{ bad: string }, NoLocals>[] =>
      Array.from({ length: n }, (_, i) => ({
        id: `${name}${i}`,
        label: `${name} ${i}`,
        run: (s, l) => ({ state: i === n - 1 ? { bad: name } : s, locals: l }),
      }));
    const r = explore({
      initial: [{ bad: '' }],
      actors: [
        { name: 'slow', locals: {}, steps: steps(3, 'slow') },
        { name: 'fast', locals: {}, steps: steps(1, 'fast') },
      ],
      invariants: [{ id: 'ok', message: 'bad', when: 'always', holds: (s) => s.bad === '' }],
    });
    expect(r.counterexample).toHaveLength(1);
    expect(r.counterexample![0].actor).toBe('fast');
  });

  it('checks always-invariants in the initial state too', () => {
    const r = explore({
      initial: [{ n: 5 }],
      actors: [incrementer('A')],
      invariants: [{ id: 'small', message: 'too big', when: 'always', holds: (s) => s.n < 5 }],
    });
    expect(r.counterexample).toEqual([]);
    expect(r.violations).toBe(1);
  });

  it('counts tolerated invariants without calling them violations', () => {
    const r = explore({
      initial: [{ n: 0 }],
      actors: [incrementer('A'), incrementer('B')],
      invariants: [{ ...bothCounted, tolerated: true }],
    });
    expect(r.violations).toBe(0);
    expect(r.counterexample).toBeNull();
    expect(r.byInvariant[0]).toMatchObject({ id: 'sum', tolerated: true, paths: 4 });
  });
});

describe('explore: blocking, deadlock, cycles, limits', () => {
  interface Locks {
    a: string;
    b: string;
    inside: number;
  }
  const take = (lock: 'a' | 'b', who: string): Step<Locks, NoLocals> => ({
    id: `lock_${lock}`,
    label: `lock ${lock}`,
    enabled: (s) => s[lock] === '',
    run: (s, l) => ({ state: { ...s, [lock]: who }, locals: l }),
  });
  const drop = (lock: 'a' | 'b'): Step<Locks, NoLocals> => ({
    id: `unlock_${lock}`,
    label: `unlock ${lock}`,
    run: (s, l) => ({ state: { ...s, [lock]: '' }, locals: l }),
  });
  const free: Locks = { a: '', b: '', inside: 0 };

  it('a guard blocks an actor: a lock gives mutual exclusion', () => {
    const critical = (who: string): Actor<Locks, NoLocals> => ({
      name: who,
      locals: {},
      steps: [
        take('a', who),
        { id: 'in', label: 'enter', run: (s, l) => ({ state: { ...s, inside: s.inside + 1 }, locals: l }) },
        { id: 'out', label: 'leave', run: (s, l) => ({ state: { ...s, inside: s.inside - 1 }, locals: l }) },
        drop('a'),
      ],
    });
    const r = explore({
      initial: [free],
      actors: [critical('P'), critical('Q')],
      invariants: [{ id: 'mutex', message: 'both inside', when: 'always', holds: (s) => s.inside <= 1 }],
    });
    expect(r.violations).toBe(0);
    expect(r.interleavings).toBe(2);
    expect(r.deadlocks).toBe(0);
  });

  it('reports an AB-BA deadlock as a terminal state with unfinished actors', () => {
    const r = explore({
      initial: [free],
      actors: [
        { name: 'P', locals: {}, steps: [take('a', 'P'), take('b', 'P'), drop('b'), drop('a')] },
        { name: 'Q', locals: {}, steps: [take('b', 'Q'), take('a', 'Q'), drop('a'), drop('b')] },
      ],
      invariants: [],
    });
    expect(r.deadlocks).toBe(1);
    expect(r.terminalStates).toBe(2);
  });

  it('terminates on a retry loop that returns to a state, and says the count is not exact', () => {
    const spinner: Actor<{ flag: boolean }, NoLocals> = {
      name: 'spin',
      locals: {},
      steps: [
        { id: 'check', label: 'if (!flag) retry', run: (s, l) => (s.flag ? { state: s, locals: l, done: true } : { state: s, locals: l, goto: 'check' }) },
      ],
    };
    const setter: Actor<{ flag: boolean }, NoLocals> = {
      name: 'set',
      locals: {},
      steps: [{ id: 'set', label: 'flag = 1', run: (_s, l) => ({ state: { flag: true }, locals: l }) }],
    };
    const r = explore({ initial: [{ flag: false }], actors: [spinner, setter], invariants: [] });
    expect(r.interleavingsExact).toBe(false);
    expect(r.terminalStates).toBe(1);
    expect(r.statesExplored).toBe(3);
  });

  it('stops at the state limit', () => {
    const r = explore({ initial: [{}], actors: [counter('a', 30), counter('b', 30)], invariants: [] }, { maxStates: 50 });
    expect(r.truncated).toBe(true);
    expect(r.statesExplored).toBeLessThanOrEqual(50);
  });

  it('rejects a goto to an unknown step', () => {
    const bad: Actor<Counters, NoLocals> = {
      name: 'bad',
      locals: {},
      steps: [{ id: 's', label: 's', run: (s, l) => ({ state: s, locals: l, goto: 'nowhere' }) }],
    };
    expect(() => explore({ initial: [{}], actors: [bad], invariants: [] })).toThrow(/nowhere/);
  });
});

describe('stableKey', () => {
  it('ignores key order and distinguishes values', () => {
    expect(stableKey({ a: 1, b: [1, { c: 2, d: null }] })).toBe(stableKey({ b: [1, { d: null, c: 2 }], a: 1 }));
    expect(stableKey({ a: 1 })).not.toBe(stableKey({ a: '1' }));
  });
});
