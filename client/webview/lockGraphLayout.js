// @ts-check
/*
 * A small layered ("Sugiyama") layout for the lock-order picture, with no library:
 *   1. break cycles by reversing DFS back edges (AB-BA inversions are exactly such cycles),
 *   2. longest-path layering: an outer lock sits above every lock taken inside it,
 *   3. dummy nodes on edges that span several layers, so long edges bend around nodes,
 *   4. a few barycenter sweeps to reduce crossings,
 *   5. coordinates and edge paths (cubic curves through the dummies, arrowheads as polygons).
 * Pure: runs in Node for the tests and in the webview (window.KvmLockGraphLayout).
 */
(function (root) {
  'use strict';

  const NODE_H = 30;
  const LAYER_GAP = 72;
  const NODE_GAP = 36;
  const DUMMY_W = 12;
  const MARGIN = 24;
  const CHAR_W = 7.3; // 12px monospace
  const PARALLEL_OFFSET = 7;

  /**
   * @typedef {{ id: string, label?: string, documented?: boolean }} InNode
   * @typedef {{ from: string, to: string, kind: string }} InEdge
   * @typedef {{ id: string, label: string, documented: boolean, dummy: boolean, layer: number, order: number, x: number, y: number, w: number, h: number }} LNode
   * @typedef {{ x: number, y: number }} Pt
   * @typedef {{ index: number, from: string, to: string, kind: string, back: boolean, self: boolean, points: Pt[], path: string, head: string }} LEdge
   */

  /** @param {string} label */
  function nodeWidth(label) {
    return Math.max(60, Math.round(label.length * CHAR_W + 22));
  }

  /**
   * @param {{ nodes?: InNode[], edges?: InEdge[] }} graph
   * @returns {{ width: number, height: number, nodes: LNode[], edges: LEdge[], layers: number }}
   */
  function layoutLockGraph(graph) {
    const inNodes = (Array.isArray(graph && graph.nodes) ? graph.nodes : []).filter((n) => n && typeof n.id === 'string');
    const inEdges = Array.isArray(graph && graph.edges) ? graph.edges : [];
    const valid = (/** @type {any} */ e) => e && typeof e.from === 'string' && typeof e.to === 'string';

    // weakly connected components (union-find), in order of first appearance
    /** @type {Map<string, string>} */
    const parent = new Map();
    const find = (/** @type {string} */ a) => {
      let r = a;
      while (parent.get(r) !== r) r = /** @type {string} */ (parent.get(r));
      while (parent.get(a) !== r) {
        const next = /** @type {string} */ (parent.get(a));
        parent.set(a, r);
        a = next;
      }
      return r;
    };
    const ids = [];
    const see = (/** @type {string} */ id) => {
      if (!parent.has(id)) parent.set(id, id), ids.push(id);
    };
    for (const n of inNodes) see(n.id);
    const connected = new Set();
    for (const e of inEdges) {
      if (!valid(e)) continue;
      see(e.from);
      see(e.to);
      connected.add(e.from);
      connected.add(e.to);
      const a = find(e.from);
      const b = find(e.to);
      if (a !== b) parent.set(b, a);
    }
    const byId = new Map(inNodes.map((n) => [n.id, n]));
    /** @type {Map<string, { nodes: InNode[], edges: (InEdge & { index: number })[] }>} */
    const comps = new Map();
    for (const id of ids) {
      if (!connected.has(id)) continue;
      const r = find(id);
      if (!comps.has(r)) comps.set(r, { nodes: [], edges: [] });
      /** @type {any} */ (comps.get(r)).nodes.push(byId.get(id) || { id, label: id, documented: false });
    }
    inEdges.forEach((e, index) => {
      if (valid(e)) /** @type {any} */ (comps.get(find(e.from))).edges.push({ ...e, index });
    });

    // components side by side, biggest first
    const parts = [...comps.values()].sort((a, b) => b.nodes.length - a.nodes.length);
    /** @type {LNode[]} */
    const nodesOut = [];
    /** @type {LEdge[]} */
    const edgesOut = [];
    let x0 = 0;
    let bottom = 0;
    let layerCount = 0;
    for (const part of parts) {
      const sub = layoutComponent(part.nodes, part.edges, x0);
      nodesOut.push(...sub.nodes);
      edgesOut.push(...sub.edges);
      x0 = sub.right + NODE_GAP;
      bottom = Math.max(bottom, sub.bottom);
      layerCount = Math.max(layerCount, sub.layers);
    }
    edgesOut.sort((a, b) => a.index - b.index);

    // locks without any edge say nothing about order: rows of their own at the bottom
    const isolated = ids.filter((id) => !connected.has(id)).map((id) => {
      const n = /** @type {InNode} */ (byId.get(id));
      const label = String(n.label || n.id);
      return { id, label, documented: n.documented !== false, dummy: false, layer: layerCount, order: 0, x: 0, y: 0, w: nodeWidth(label), h: NODE_H };
    });
    const rowMax = Math.max(640, x0);
    let y = bottom > 0 ? bottom + LAYER_GAP / 2 : MARGIN;
    let x = MARGIN;
    for (const n of isolated) {
      if (x > MARGIN && x + n.w > rowMax) {
        x = MARGIN;
        y += NODE_H + NODE_GAP / 2;
      }
      n.x = x;
      n.y = y;
      x += n.w + NODE_GAP / 2;
      nodesOut.push(n);
    }
    const right = nodesOut.reduce((m, n) => Math.max(m, n.x + n.w), 0);
    const low = nodesOut.reduce((m, n) => Math.max(m, n.y + n.h), 0);
    return {
      width: Math.max(right + MARGIN + 40, 120),
      height: Math.max(low + MARGIN, 60),
      nodes: nodesOut,
      edges: edgesOut,
      layers: layerCount + (isolated.length ? 1 : 0),
    };
  }

  /**
   * One connected component, its left edge at x0.
   * @param {InNode[]} inNodes @param {(InEdge & { index: number })[]} inEdges @param {number} x0
   */
  function layoutComponent(inNodes, inEdges, x0) {

    /** @type {Map<string, LNode>} */
    const nodes = new Map();
    const addNode = (/** @type {string} */ id, /** @type {string} */ label, /** @type {boolean} */ documented) => {
      if (!nodes.has(id)) {
        nodes.set(id, { id, label, documented, dummy: false, layer: 0, order: 0, x: 0, y: 0, w: nodeWidth(label), h: NODE_H });
      }
      return /** @type {LNode} */ (nodes.get(id));
    };
    for (const n of inNodes) if (n && typeof n.id === 'string') addNode(n.id, String(n.label || n.id), n.documented !== false);
    for (const e of inEdges) {
      if (!e || typeof e.from !== 'string' || typeof e.to !== 'string') continue;
      addNode(e.from, e.from, false);
      addNode(e.to, e.to, false);
    }
    const real = [...nodes.values()];

    // ---- 1. adjacency of distinct pairs, cycles broken by DFS ---------------------------------
    /** @type {Map<string, Set<string>>} */
    const succ = new Map(real.map((n) => [n.id, new Set()]));
    for (const e of inEdges) {
      if (!e || typeof e.from !== 'string' || typeof e.to !== 'string' || e.from === e.to) continue;
      /** @type {Set<string>} */ (succ.get(e.from)).add(e.to);
    }
    /** Pairs "a\0b" whose direction is reversed for layering. */
    const reversed = new Set();
    const state = new Map(); // 1 = on stack, 2 = done
    for (const start of real) {
      if (state.has(start.id)) continue;
      // iterative DFS: the stack holds [node, iterator over successors]
      /** @type {[string, Iterator<string>][]} */
      const stack = [[start.id, /** @type {Set<string>} */ (succ.get(start.id)).values()]];
      state.set(start.id, 1);
      while (stack.length) {
        const top = stack[stack.length - 1];
        const next = top[1].next();
        if (next.done) {
          state.set(top[0], 2);
          stack.pop();
          continue;
        }
        const v = next.value;
        const s = state.get(v);
        if (s === 1) reversed.add(`${top[0]}\0${v}`);
        else if (s === undefined) {
          state.set(v, 1);
          stack.push([v, /** @type {Set<string>} */ (succ.get(v)).values()]);
        }
      }
    }
    /** DAG edges (pairs) after reversal, deduplicated. */
    /** @type {Map<string, [string, string]>} */
    const dag = new Map();
    for (const [a, bs] of succ) {
      for (const b of bs) {
        const [u, v] = reversed.has(`${a}\0${b}`) ? [b, a] : [a, b];
        dag.set(`${u}\0${v}`, [u, v]);
      }
    }

    // ---- 2. longest-path layering (Kahn order) -------------------------------------------------
    const indeg = new Map(real.map((n) => [n.id, 0]));
    /** @type {Map<string, string[]>} */
    const out = new Map(real.map((n) => [n.id, []]));
    for (const [u, v] of dag.values()) {
      indeg.set(v, /** @type {number} */ (indeg.get(v)) + 1);
      /** @type {string[]} */ (out.get(u)).push(v);
    }
    const queue = real.filter((n) => indeg.get(n.id) === 0).map((n) => n.id);
    for (let qi = 0; qi < queue.length; qi++) {
      const u = queue[qi];
      const lu = /** @type {LNode} */ (nodes.get(u)).layer;
      for (const v of /** @type {string[]} */ (out.get(u))) {
        const nv = /** @type {LNode} */ (nodes.get(v));
        nv.layer = Math.max(nv.layer, lu + 1);
        indeg.set(v, /** @type {number} */ (indeg.get(v)) - 1);
        if (indeg.get(v) === 0) queue.push(v);
      }
    }

    // ---- 3. dummies for long edges -------------------------------------------------------------
    /** @type {LNode[][]} */
    const layers = [];
    const place = (/** @type {LNode} */ n) => {
      while (layers.length <= n.layer) layers.push([]);
      n.order = layers[n.layer].length;
      layers[n.layer].push(n);
    };
    for (const n of real) place(n);
    /** Chain of node ids from top to bottom for each DAG pair. */
    /** @type {Map<string, string[]>} */
    const chains = new Map();
    /** @type {[string, string][]} */
    const segs = [];
    let dummyCount = 0;
    for (const [key, [u, v]] of dag) {
      const lu = /** @type {LNode} */ (nodes.get(u)).layer;
      const lv = /** @type {LNode} */ (nodes.get(v)).layer;
      const chain = [u];
      for (let l = lu + 1; l < lv; l++) {
        const d = { id: `\u0000d${dummyCount++}`, label: '', documented: true, dummy: true, layer: l, order: 0, x: 0, y: 0, w: DUMMY_W, h: NODE_H };
        nodes.set(d.id, d);
        place(d);
        chain.push(d.id);
      }
      chain.push(v);
      chains.set(key, chain);
      for (let i = 0; i + 1 < chain.length; i++) segs.push([chain[i], chain[i + 1]]);
    }

    // ---- 4. barycenter sweeps ------------------------------------------------------------------
    /** @type {Map<string, string[]>} */
    const up = new Map();
    /** @type {Map<string, string[]>} */
    const down = new Map();
    for (const [a, b] of segs) {
      if (!down.has(a)) down.set(a, []);
      if (!up.has(b)) up.set(b, []);
      /** @type {string[]} */ (down.get(a)).push(b);
      /** @type {string[]} */ (up.get(b)).push(a);
    }
    const sortLayer = (/** @type {LNode[]} */ layer, /** @type {Map<string, string[]>} */ neighbours) => {
      const bary = new Map();
      for (const n of layer) {
        const ns = neighbours.get(n.id) || [];
        bary.set(n.id, ns.length ? ns.reduce((s, id) => s + /** @type {LNode} */ (nodes.get(id)).order, 0) / ns.length : n.order);
      }
      layer.sort((a, b) => bary.get(a.id) - bary.get(b.id) || a.order - b.order);
      layer.forEach((n, i) => (n.order = i));
    };
    for (let iter = 0; iter < 4; iter++) {
      for (let l = 1; l < layers.length; l++) sortLayer(layers[l], up);
      for (let l = layers.length - 2; l >= 0; l--) sortLayer(layers[l], down);
    }

    // ---- 5. coordinates ------------------------------------------------------------------------
    const layerWidth = (/** @type {LNode[]} */ layer) => layer.reduce((s, n) => s + n.w, 0) + NODE_GAP * Math.max(0, layer.length - 1);
    const cx = (/** @type {LNode} */ n) => n.x + n.w / 2;
    const maxW = layers.reduce((m, layer) => Math.max(m, layerWidth(layer)), 0);
    layers.forEach((layer, l) => {
      let x = (maxW - layerWidth(layer)) / 2;
      for (const n of layer) {
        n.x = x;
        n.y = MARGIN + l * (NODE_H + LAYER_GAP);
        x += n.w + NODE_GAP;
      }
    });
    // Pull each lock towards the mean position of its neighbours, keeping the order and the gaps.
    const placeLayer = (/** @type {LNode[]} */ layer, /** @type {Map<string, string[]>} */ neighbours) => {
      const want = layer.map((n) => {
        const ns = neighbours.get(n.id) || [];
        return ns.length ? ns.reduce((s, id) => s + cx(/** @type {LNode} */ (nodes.get(id))), 0) / ns.length - n.w / 2 : n.x;
      });
      for (let i = 0; i < layer.length; i++) {
        const prev = layer[i - 1];
        layer[i].x = prev ? Math.max(want[i], prev.x + prev.w + NODE_GAP) : want[i];
      }
      for (let i = layer.length - 2; i >= 0; i--) {
        const next = layer[i + 1];
        layer[i].x = Math.min(layer[i].x, Math.max(want[i], next.x - NODE_GAP - layer[i].w));
        if (layer[i].x + layer[i].w + NODE_GAP > next.x) layer[i].x = next.x - NODE_GAP - layer[i].w;
      }
    };
    for (let iter = 0; iter < 4; iter++) {
      for (let l = 1; l < layers.length; l++) placeLayer(layers[l], up);
      for (let l = layers.length - 2; l >= 0; l--) placeLayer(layers[l], down);
    }
    const minX = layers.flat().reduce((m, n) => Math.min(m, n.x), Infinity);
    for (const n of layers.flat()) n.x += MARGIN + x0 - minX;
    /** Parallel edges (same unordered pair) get spread apart. */
    const pairCount = new Map();
    /** @type {LEdge[]} */
    const edges = [];
    inEdges.forEach((e) => {
      const index = e.index;
      const from = /** @type {LNode} */ (nodes.get(e.from));
      const to = /** @type {LNode} */ (nodes.get(e.to));
      if (from === to) {
        const k = pairCount.get(from.id) || 0;
        pairCount.set(from.id, k + 1);
        const r = 12 + 6 * k;
        const x = from.x + from.w;
        const y = from.y + from.h / 2;
        const points = [{ x, y: y - 6 }, { x: x + 2 * r, y }, { x, y: y + 6 }];
        const path = `M${f(x)},${f(y - 6)} C${f(x + 2 * r)},${f(y - 6 - r)} ${f(x + 2 * r)},${f(y + 6 + r)} ${f(x + 6)},${f(y + 8)}`;
        edges.push({ index, from: e.from, to: e.to, kind: String(e.kind), back: false, self: true, points, path, head: arrowHead({ x: x + 2 * r, y: y + 6 + r }, { x: x + 6, y: y + 8 }) });
        return;
      }
      const back = reversed.has(`${e.from}\0${e.to}`);
      const key = back ? `${e.to}\0${e.from}` : `${e.from}\0${e.to}`;
      const chain = chains.get(key) || [back ? e.to : e.from, back ? e.from : e.to];
      const pairKey = [e.from, e.to].sort().join('\0');
      const k = pairCount.get(pairKey) || 0;
      pairCount.set(pairKey, k + 1);
      const offset = k === 0 ? 0 : (k % 2 ? 1 : -1) * Math.ceil(k / 2) * PARALLEL_OFFSET;
      // top-to-bottom points, then reversed for an edge that points upwards
      const pts = chain.map((id, i) => {
        const n = /** @type {LNode} */ (nodes.get(id));
        const y = i === 0 ? n.y + n.h : i === chain.length - 1 ? n.y : n.y + n.h / 2;
        return { x: cx(n) + offset, y };
      });
      const points = back ? pts.reverse() : pts;
      let path = `M${f(points[0].x)},${f(points[0].y)}`;
      let lastCtrl = points[0];
      for (let i = 0; i + 1 < points.length; i++) {
        const a = points[i];
        const b = points[i + 1];
        const dy = b.y - a.y;
        // sideways bulge for an upward edge so it does not run on top of its downward twin
        const bulge = back ? 28 : 0;
        const c1 = { x: a.x + bulge, y: a.y + dy / 2 };
        const c2 = { x: b.x + bulge, y: b.y - dy / 2 };
        path += ` C${f(c1.x)},${f(c1.y)} ${f(c2.x)},${f(c2.y)} ${f(b.x)},${f(b.y)}`;
        lastCtrl = c2;
      }
      edges.push({ index, from: e.from, to: e.to, kind: String(e.kind), back, self: false, points, path, head: arrowHead(lastCtrl, points[points.length - 1]) });
    });

    const right = real.reduce((m, n) => Math.max(m, n.x + n.w), 0) + (edges.some((e) => e.self) ? 40 : 0);
    const bottom = real.reduce((m, n) => Math.max(m, n.y + n.h), 0);
    return { right, bottom, nodes: real, edges, layers: layers.length };
  }

  /** Triangle at `tip`, pointing along from -> tip. @param {Pt} from @param {Pt} tip */
  function arrowHead(from, tip) {
    let dx = tip.x - from.x;
    let dy = tip.y - from.y;
    const len = Math.hypot(dx, dy) || 1;
    dx /= len;
    dy /= len;
    const L = 9;
    const W = 4.5;
    const bx = tip.x - dx * L;
    const by = tip.y - dy * L;
    return `${f(tip.x)},${f(tip.y)} ${f(bx - dy * W)},${f(by + dx * W)} ${f(bx + dy * W)},${f(by - dx * W)}`;
  }

  /** @param {number} n */
  function f(n) {
    return (Math.round(n * 10) / 10).toString();
  }

  const api = { layoutLockGraph, NODE_H };
  if (typeof module === 'object' && module.exports) module.exports = api;
  else root.KvmLockGraphLayout = api;
})(typeof globalThis !== 'undefined' ? globalThis : this);
