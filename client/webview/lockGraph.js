// @ts-check
/*
 * Lock-order webview: the workspace's LockGraph as a layered SVG picture plus a keyboard-usable
 * list of its edges. Choosing an edge (click, Enter or Space on the picture or the list) asks the
 * extension to open its witness ("taken here") or, for a documented edge, the rule's line.
 *
 * Messages from the extension: { type: 'graph', graph } | { type: 'error', message }
 * Messages to the extension:   { type: 'ready' } | { type: 'open', edge: index } | { type: 'refresh' }
 */
(function () {
  'use strict';
  /** @type {any} */
  const L = /** @type {any} */ (window).KvmLockGraphLayout;
  // @ts-ignore injected by VS Code
  const vscode = acquireVsCodeApi();
  const SVG = 'http://www.w3.org/2000/svg';
  const KIND_ORDER = { violation: 0, observed: 1, documented: 2 };
  const KIND_TEXT = { violation: 'violates the rules', observed: 'observed, allowed', documented: 'documented only' };

  /** @param {string} tag @param {Record<string, string>} [attrs] @param {(Node | string)[]} [children] */
  function h(tag, attrs, children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) k === 'class' ? (el.className = v) : el.setAttribute(k, v);
    for (const c of children || []) el.append(c);
    return el;
  }
  /** @param {string} tag @param {Record<string, string>} [attrs] @param {(Node | string)[]} [children] */
  function s(tag, attrs, children) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
    for (const c of children || []) el.append(c);
    return el;
  }

  const app = /** @type {HTMLElement} */ (document.getElementById('app'));
  /** @type {any} */
  let graph = null;

  /** @param {any} e */
  const hasTarget = (e) => (Array.isArray(e.witness) && e.witness.length > 0) || !!e.ruleRef;
  /** @param {any} e @param {Map<string, string>} labels */
  const edgeText = (e, labels) => `${labels.get(e.from) || e.from} → ${labels.get(e.to) || e.to}`;

  function legend() {
    const swatch = (/** @type {string} */ cls) =>
      s('svg', { width: '28', height: '10', 'aria-hidden': 'true' }, [s('line', { x1: '0', y1: '5', x2: '28', y2: '5', class: cls, 'stroke-width': '2' })]);
    return h('div', { class: 'legend' }, [
      h('span', {}, [swatch('swatch-documented'), 'documented order']),
      h('span', {}, [swatch('swatch-observed'), 'observed in the code']),
      h('span', {}, [swatch('swatch-violation'), 'observed against the rules']),
      h('span', {}, ['outer lock above, inner lock below; dashed box: lock not in the document']),
    ]);
  }

  /** @param {number} index */
  function open(index) {
    vscode.postMessage({ type: 'open', edge: index });
  }

  /** @param {number | null} index */
  function setActive(index) {
    document.querySelectorAll('.active').forEach((el) => el.classList.remove('active'));
    if (index === null) return;
    document.querySelectorAll(`[data-edge="${index}"]`).forEach((el) => el.classList.add('active'));
  }

  function render() {
    app.textContent = '';
    const refresh = h('button', { type: 'button', id: 'refresh', 'aria-label': 'Refresh the lock graph' }, ['Refresh']);
    refresh.addEventListener('click', () => vscode.postMessage({ type: 'refresh' }));
    app.append(h('header', {}, [h('h1', {}, ['Lock order']), h('p', { class: 'description' }, [graph ? `Rules: ${graph.rulesSource || 'built-in'}` : 'waiting for the analysis…']), refresh]));
    if (!graph) return;
    if (!graph.nodes.length && !graph.edges.length) {
      app.append(h('p', { class: 'empty' }, ['No locks yet: open or edit a C file of the workspace, then refresh.']));
      return;
    }
    const layout = L.layoutLockGraph(graph);
    /** @type {Map<string, string>} */
    const labels = new Map(layout.nodes.map((/** @type {any} */ n) => [n.id, n.label]));
    const inViolation = new Set();
    for (const e of graph.edges) if (e.kind === 'violation') inViolation.add(e.from), inViolation.add(e.to);

    const svg = s('svg', {
      class: 'graph',
      width: String(layout.width),
      height: String(layout.height),
      viewBox: `0 0 ${layout.width} ${layout.height}`,
      role: 'group',
      'aria-label': `Lock order graph: ${layout.nodes.length} locks, ${graph.edges.length} edges`,
    });
    // edges first so the nodes paint over their ends; violations last so they stay on top
    const drawOrder = [...layout.edges].sort((a, b) => (KIND_ORDER[b.kind] ?? 3) - (KIND_ORDER[a.kind] ?? 3));
    for (const le of drawOrder) {
      const e = graph.edges[le.index];
      const label = `${edgeText(e, labels)}, ${KIND_TEXT[e.kind] || e.kind}${e.ruleRef ? `, ${e.ruleRef}` : ''}`;
      const g = s('g', { class: `edge ${e.kind}${hasTarget(e) ? ' has-witness' : ''}`, 'data-edge': String(le.index) }, [
        s('title', {}, [label]),
        s('path', { class: 'hit', d: le.path }),
        s('path', { class: 'line', d: le.path }),
        s('polygon', { class: 'head', points: le.head }),
      ]);
      if (hasTarget(e)) {
        g.setAttribute('tabindex', '0');
        g.setAttribute('role', 'button');
        g.setAttribute('aria-label', `${label}: open ${e.witness && e.witness.length ? 'witness' : 'rule'}`);
        g.addEventListener('click', () => open(le.index));
        g.addEventListener('keydown', (ev) => {
          if (ev.key === 'Enter' || ev.key === ' ') {
            ev.preventDefault();
            open(le.index);
          }
        });
      }
      g.addEventListener('mouseenter', () => setActive(le.index));
      g.addEventListener('mouseleave', () => setActive(null));
      g.addEventListener('focus', () => setActive(le.index));
      svg.append(g);
    }
    for (const n of layout.nodes) {
      const cls = `node${n.documented ? '' : ' undocumented'}${inViolation.has(n.id) ? ' in-violation' : ''}`;
      svg.append(
        s('g', { class: cls }, [
          s('title', {}, [`${n.label}${n.id !== n.label ? ` (${n.id})` : ''}${n.documented ? '' : ', not in the locking document'}`]),
          s('rect', { x: String(n.x), y: String(n.y), width: String(n.w), height: String(n.h), rx: '4' }),
          s('text', { x: String(n.x + n.w / 2), y: String(n.y + n.h / 2 + 4), 'text-anchor': 'middle' }, [n.label]),
        ]),
      );
    }

    const list = h('ul', { 'aria-label': 'Edges' });
    const sorted = graph.edges
      .map((/** @type {any} */ e, /** @type {number} */ i) => ({ e, i }))
      .sort((/** @type {any} */ a, /** @type {any} */ b) => (KIND_ORDER[a.e.kind] ?? 3) - (KIND_ORDER[b.e.kind] ?? 3) || a.i - b.i);
    for (const { e, i } of sorted) {
      const where = e.witness && e.witness.length ? 'open witness' : e.ruleRef ? `open ${e.ruleRef}` : 'no location';
      const b = h('button', { type: 'button', 'data-edge': String(i), 'aria-label': `${edgeText(e, labels)}, ${KIND_TEXT[e.kind] || e.kind}: ${where}` }, [
        h('span', { class: 'label' }, [edgeText(e, labels)]),
        h('span', { class: 'kind' }, [e.kind === 'documented' && e.ruleRef ? e.ruleRef : e.kind]),
      ]);
      if (!hasTarget(e)) /** @type {HTMLButtonElement} */ (b).disabled = true;
      b.addEventListener('click', () => open(i));
      b.addEventListener('focus', () => setActive(i));
      b.addEventListener('mouseenter', () => setActive(i));
      b.addEventListener('blur', () => setActive(null));
      list.append(h('li', { class: e.kind }, [b]));
    }
    app.append(
      legend(),
      h('div', { class: 'graph-layout' }, [
        h('div', { class: 'graph-wrap' }, [svg]),
        h('nav', { class: 'edge-list', 'aria-label': 'Lock order edges' }, [h('h2', {}, [`Edges (${graph.edges.length})`]), list]),
      ]),
    );
  }

  window.addEventListener('message', (event) => {
    const msg = event.data;
    if (!msg || typeof msg !== 'object') return;
    if (msg.type === 'graph') {
      graph = msg.graph && Array.isArray(msg.graph.nodes) && Array.isArray(msg.graph.edges) ? msg.graph : { rulesSource: '', nodes: [], edges: [] };
      render();
    } else if (msg.type === 'error') {
      render();
      app.append(h('p', { class: 'broken', role: 'alert' }, [String(msg.message)]));
    }
  });

  render();
  vscode.postMessage({ type: 'ready' });
})();
