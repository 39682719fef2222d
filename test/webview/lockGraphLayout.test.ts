/** The lock-order picture's layered layout. */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const { layoutLockGraph } = createRequire(import.meta.url)('../../client/webview/lockGraphLayout.js');

interface N { id: string; x: number; y: number; w: number; h: number; layer: number }
interface E { index: number; from: string; to: string; back: boolean; self: boolean; points: { x: number; y: number }[]; path: string; head: string }

const node = (id: string) => ({ id, label: id, documented: true });
const byId = (l: { nodes: N[] }) => new Map(l.nodes.map((n) => [n.id, n]));

describe('layoutLockGraph', () => {
  it('puts outer locks above the locks taken inside them', () => {
    const l = layoutLockGraph({
      nodes: ['cpus', 'kvm_lock', 'kvm.lock', 'vcpu.mutex', 'slots'].map(node),
      edges: [
        { from: 'cpus', to: 'kvm_lock', kind: 'documented' },
        { from: 'kvm.lock', to: 'vcpu.mutex', kind: 'observed' },
        { from: 'vcpu.mutex', to: 'slots', kind: 'documented' },
        { from: 'kvm.lock', to: 'slots', kind: 'observed' },
      ],
    });
    const n = byId(l);
    for (const e of l.edges as E[]) expect(n.get(e.from)!.y).toBeLessThan(n.get(e.to)!.y);
    expect(n.get('slots')!.layer).toBe(2); // below vcpu.mutex, not next to kvm.lock
    // the long edge kvm.lock -> slots bends through a point on the middle layer
    const long = (l.edges as E[]).find((e) => e.from === 'kvm.lock' && e.to === 'slots')!;
    expect(long.points).toHaveLength(3);
  });

  it('never overlaps two boxes of a layer', () => {
    const nodes = Array.from({ length: 12 }, (_, i) => node(`lock_with_a_long_name_${i}`));
    const edges = nodes.slice(1).map((n) => ({ from: nodes[0].id, to: n.id, kind: 'observed' }));
    const l = layoutLockGraph({ nodes, edges });
    const layer1 = (l.nodes as N[]).filter((n) => n.layer === 1).sort((a, b) => a.x - b.x);
    expect(layer1).toHaveLength(11);
    for (let i = 1; i < layer1.length; i++) expect(layer1[i].x).toBeGreaterThanOrEqual(layer1[i - 1].x + layer1[i - 1].w);
    expect(l.width).toBeGreaterThanOrEqual(layer1[10].x + layer1[10].w);
  });

  it('draws an AB-BA cycle with one edge pointing back up, and terminates on any cycle', () => {
    const l = layoutLockGraph({
      nodes: [node('a'), node('b'), node('c')],
      edges: [
        { from: 'a', to: 'b', kind: 'observed' },
        { from: 'b', to: 'c', kind: 'observed' },
        { from: 'c', to: 'a', kind: 'violation' },
        { from: 'b', to: 'a', kind: 'violation' },
      ],
    });
    const edges = l.edges as E[];
    expect(edges).toHaveLength(4);
    expect(edges.filter((e) => e.back).map((e) => `${e.from}>${e.to}`).sort()).toEqual(['b>a', 'c>a']);
    for (const e of edges) {
      expect(e.path).toMatch(/^M[\d.-]+,[\d.-]+( C[\d., -]+)+$/);
      expect(e.head.split(' ')).toHaveLength(3);
    }
  });

  it('puts locks without any edge in a row below the graph', () => {
    const l = layoutLockGraph({
      nodes: ['a', 'b', 'lonely1', 'lonely2'].map(node),
      edges: [{ from: 'a', to: 'b', kind: 'observed' }],
    });
    const n = byId(l);
    expect(n.get('lonely1')!.y).toBeGreaterThan(n.get('b')!.y);
    expect(n.get('lonely1')!.y).toBe(n.get('lonely2')!.y);
    expect(l.height).toBeGreaterThanOrEqual(n.get('lonely1')!.y + n.get('lonely1')!.h);
  });

  it('places a lock above the locks taken inside it (centred on its neighbours)', () => {
    const l = layoutLockGraph({
      nodes: ['outer', 'i1', 'i2', 'i3'].map(node),
      edges: ['i1', 'i2', 'i3'].map((to) => ({ from: 'outer', to, kind: 'observed' })),
    });
    const n = byId(l);
    const c = (id: string) => n.get(id)!.x + n.get(id)!.w / 2;
    expect(Math.abs(c('outer') - (c('i1') + c('i3')) / 2)).toBeLessThan(2);
    expect(Math.min(...(l.nodes as N[]).map((x) => x.x))).toBeGreaterThanOrEqual(0);
  });

  it('handles self edges, edges to unknown nodes and an empty graph', () => {
    const l = layoutLockGraph({ nodes: [node('kvm.lock')], edges: [{ from: 'kvm.lock', to: 'kvm.lock', kind: 'observed' }, { from: 'kvm.lock', to: 'ghost', kind: 'observed' }] });
    expect((l.edges as E[])[0].self).toBe(true);
    expect(byId(l).has('ghost')).toBe(true);
    const empty = layoutLockGraph({ nodes: [], edges: [] });
    expect(empty.nodes).toEqual([]);
    expect(layoutLockGraph(null).edges).toEqual([]);
  });

  // Its speed is not a unit test's business (timed tests fail on a loaded machine): this one
  // checks that a graph of the size of all of KVM's locks is laid out whole and without overlaps.
  it('lays out a few hundred locks, each in a place of its own, outer above inner', () => {
    const nodes = Array.from({ length: 300 }, (_, i) => node(`l${i}`));
    const edges = [];
    for (let i = 0; i < 300; i++) for (const d of [1, 7, 31]) if (i + d < 300) edges.push({ from: `l${i}`, to: `l${i + d}`, kind: 'observed' });
    const l = layoutLockGraph({ nodes, edges });
    expect(l.edges).toHaveLength(edges.length);
    expect(l.nodes).toHaveLength(300);
    const places = new Set((l.nodes as N[]).map((n) => `${n.x},${n.y}`));
    expect(places.size).toBe(300);
    const n = byId(l);
    for (const e of l.edges as E[]) expect(n.get(e.from)!.y).toBeLessThan(n.get(e.to)!.y);
  });
});
