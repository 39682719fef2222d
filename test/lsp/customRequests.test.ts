/** The language server's custom requests for the race demo and the lock-order picture. */
import { describe, expect, it } from 'vitest';
import { ResponseError } from 'vscode-languageserver';
import { listScenarios } from '../../model/races';
import { createRaceService, registerCustomRequests, toJsonSafe } from '../../server/lsp/customRequests';
import type { LockGraph } from '../../server/engine/lockGraphTypes';

function fakeConnection() {
  const handlers = new Map<string, (params?: unknown) => unknown>();
  return {
    handlers,
    onRequest: ((method: string, handler: (params?: unknown) => unknown) => {
      handlers.set(method, handler);
      return { dispose() {} };
    }) as never,
  };
}

describe('custom requests', () => {
  const graph: LockGraph = {
    rulesSource: 'locking.rst',
    nodes: [{ id: 'kvm.lock', label: 'kvm->lock', documented: true }],
    edges: [{ from: 'kvm.lock', to: 'kvm.lock', kind: 'observed' }],
  };

  it('answers races, race and lockGraph', () => {
    const c = fakeConnection();
    let current: LockGraph | null = null;
    registerCustomRequests(c, { lockGraph: () => current });
    expect([...c.handlers.keys()].sort()).toEqual(['kvmLocklint/lockGraph', 'kvmLocklint/race', 'kvmLocklint/races']);

    const list = c.handlers.get('kvmLocklint/races')!() as { id: string; title: string }[];
    expect(list.map((s) => s.id)).toEqual(listScenarios().map((s) => s.id));
    expect(list.every((s) => s.title.length > 0)).toBe(true);

    const buggy = c.handlers.get('kvmLocklint/race')!({ id: list[0].id, variant: 'buggy' }) as Record<string, unknown>;
    expect(buggy.variant).toBe('buggy');
    expect(buggy.violations).toBeGreaterThan(0);
    expect(Array.isArray(buggy.counterexample)).toBe(true);
    expect(typeof buggy.ms).toBe('number');
    const fixed = c.handlers.get('kvmLocklint/race')!({ id: list[0].id, variant: 'fixed' }) as Record<string, unknown>;
    expect(fixed.violations).toBe(0);
    expect(fixed.counterexample).toBeNull();
    // survives the JSON-RPC round trip unchanged
    expect(JSON.parse(JSON.stringify(buggy))).toEqual(buggy);

    expect(c.handlers.get('kvmLocklint/lockGraph')!()).toEqual({ rulesSource: '', nodes: [], edges: [] });
    current = graph;
    expect(c.handlers.get('kvmLocklint/lockGraph')!()).toEqual(graph);
  });

  it('rejects bad parameters with InvalidParams instead of crashing', () => {
    const races = createRaceService();
    for (const bad of [undefined, null, {}, { id: 42 }, { id: 'no-such-race' }, { id: listScenarios()[0].id, variant: 'both' }]) {
      let err: unknown;
      try {
        races.run(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ResponseError);
      expect((err as ResponseError<unknown>).code).toBe(-32602);
    }
  });

  it('caches a scenario result', () => {
    const races = createRaceService();
    const id = listScenarios()[0].id;
    expect(races.run({ id })).toBe(races.run({ id, variant: 'buggy' }));
  });

  it('makes bigint, Map, Set and cycles JSON-safe', () => {
    const cyc: Record<string, unknown> = { a: 1 };
    cyc.self = cyc;
    const shared = { x: 1 };
    expect(toJsonSafe({ v: 1n << 63n, m: new Map([['k', 2n]]), s: new Set([1]), f: () => 1, n: NaN, c: cyc, p: [shared, shared] })).toEqual({
      v: '0x8000000000000000',
      m: { k: '0x2' },
      s: [1],
      n: 'NaN',
      c: { a: 1, self: '[circular]' },
      p: [{ x: 1 }, { x: 1 }],
    });
  });
});
