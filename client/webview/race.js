// @ts-check
/*
 * Race-demo webview: draws a race scenario's counterexample as a timeline (one column per
 * actor, like the "CPU 0 | CPU 1" tables of locking.rst), steps through it, and shows the SPTE
 * bits and the rest of the shared state at the current step.
 *
 * Messages from the extension:  { type: 'show', scenario, variant, result } | { type: 'loading', variant }
 *                               | { type: 'error', message }
 * Messages to the extension:    { type: 'ready' } | { type: 'variant', variant }
 * No inline handlers (the CSP forbids them), no remote resources, text only via textContent.
 */
(function () {
  'use strict';
  /** @type {any} */
  const M = /** @type {any} */ (window).KvmRaceModel;
  // @ts-ignore acquireVsCodeApi is injected by VS Code
  const vscode = acquireVsCodeApi();
  const PLAY_INTERVAL_MS = 1100;

  /** @type {{ scenario: any, variant: string, result: any, frames: any[], frame: number, playing: boolean, timer: any, loading: boolean }} */
  const view = { scenario: null, variant: 'buggy', result: null, frames: [], frame: 0, playing: false, timer: null, loading: false };

  /** @param {string} tag @param {Record<string, string>} [attrs] @param {(Node | string | null)[]} [children] */
  function h(tag, attrs, children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') el.className = v;
      else el.setAttribute(k, v);
    }
    for (const c of children || []) if (c !== null) el.append(typeof c === 'string' ? document.createTextNode(c) : c);
    return el;
  }
  /** @param {string} id */
  const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

  // ---- static skeleton ---------------------------------------------------------------------
  const app = $('app');
  const btn = (/** @type {string} */ id, /** @type {string} */ text, /** @type {string} */ label) =>
    h('button', { id, type: 'button', 'aria-label': label, title: label }, [text]);
  const buggyBtn = h('button', { id: 'variant-buggy', type: 'button', role: 'radio', 'aria-checked': 'true' }, ['Buggy']);
  const fixedBtn = h('button', { id: 'variant-fixed', type: 'button', role: 'radio', 'aria-checked': 'false' }, ['Fixed']);
  const firstBtn = btn('first', '|◀', 'First step (Home)');
  const backBtn = btn('back', '◀', 'Step back (Left arrow)');
  const playBtn = btn('play', 'Play', 'Play (Space)');
  const fwdBtn = btn('forward', '▶', 'Step forward (Right arrow)');
  const lastBtn = btn('last', '▶|', 'Last step (End)');
  const slider = /** @type {HTMLInputElement} */ (h('input', { id: 'slider', type: 'range', min: '0', max: '0', value: '0', 'aria-label': 'Step' }));
  const position = h('span', { id: 'position', 'aria-live': 'polite' });
  app.append(
    h('header', {}, [
      h('h1', { id: 'title' }),
      h('p', { id: 'docref', class: 'docref' }),
      h('p', { id: 'description', class: 'description' }),
      h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': 'Race demo controls' }, [
        h('div', { class: 'segmented', role: 'radiogroup', 'aria-label': 'Variant' }, [buggyBtn, fixedBtn]),
        h('div', { class: 'transport' }, [firstBtn, backBtn, playBtn, fwdBtn, lastBtn]),
        slider,
        position,
      ]),
      h('p', { id: 'stats', class: 'stats' }),
      h('p', { id: 'verdict', class: 'verdict', role: 'status' }),
      h('p', { id: 'variant-text', class: 'variant-text' }),
    ]),
    h('div', { class: 'columns' }, [
      h('section', { class: 'timeline', 'aria-label': 'Schedule' }, [h('table', { id: 'timeline' })]),
      h('section', { class: 'state', 'aria-label': 'Shared state at the current step' }, [
        h('h2', {}, ['State after this step']),
        h('div', { id: 'sptes' }),
        h('table', { id: 'fields', class: 'fields' }),
        h('div', { id: 'invariants' }),
      ]),
    ]),
  );

  // ---- rendering ------------------------------------------------------------------------------
  function renderHeader() {
    const r = view.result;
    const s = view.scenario || {};
    $('title').textContent = `${s.title || r?.title || s.id || 'Race'}`;
    $('description').textContent = s.description || r?.description || '';
    $('docref').textContent = M.docRefText(s.docRef || r?.docRef);
    $('variant-text').textContent = r && !view.loading ? r.variantDescription || '' : '';
    buggyBtn.setAttribute('aria-checked', String(view.variant === 'buggy'));
    fixedBtn.setAttribute('aria-checked', String(view.variant === 'fixed'));
    buggyBtn.classList.toggle('selected', view.variant === 'buggy');
    fixedBtn.classList.toggle('selected', view.variant === 'fixed');
    $('stats').textContent = view.loading ? 'exploring…' : r ? `${view.variant} variant: ${M.summaryText(r)}` : '';
    const verdict = $('verdict');
    verdict.textContent = '';
    verdict.className = 'verdict';
    if (r && !view.loading) {
      const bad = M.violationFrame(r) >= 0 || (typeof r.violations === 'number' && r.violations > 0);
      verdict.classList.add(bad ? 'bad' : 'ok');
      verdict.append(h('span', { class: 'icon', 'aria-hidden': 'true' }, [bad ? '✗' : '✓']), ' ', M.verdictText(r));
      const inv = M.brokenInvariantText(r);
      if (bad && inv) verdict.append(h('span', { class: 'invariant-name' }, [` — ${inv}`]));
    }
  }

  function renderTimeline() {
    const table = $('timeline');
    table.textContent = '';
    const r = view.result;
    const frames = view.frames;
    if (!r || frames.length === 0) return;
    const actors = M.columnsOf(r);
    const vFrame = M.violationFrame(r);
    const hasSchedule = Array.isArray(r.counterexample) && r.counterexample.length > 0;
    table.append(
      h('caption', hasSchedule ? { class: 'visually-hidden' } : {}, [
        hasSchedule
          ? 'Counterexample schedule, one column per actor'
          : 'No violating schedule: every interleaving keeps the invariants, so there is no counterexample to replay. The initial state:',
      ]),
      h('thead', {}, [h('tr', {}, [h('th', { scope: 'col', class: 'num' }, ['#']), ...actors.map((/** @type {string} */ a) => h('th', { scope: 'col' }, [a]))])]),
    );
    const body = h('tbody');
    frames.forEach((f, i) => {
      const row = h('tr', { 'data-frame': String(i) });
      row.classList.toggle('current', i === view.frame);
      row.classList.toggle('future', i > view.frame);
      if (i === view.frame) row.setAttribute('aria-current', 'step');
      row.append(h('td', { class: 'num' }, [String(i)]));
      if (f.actor === null) {
        row.append(h('td', { colspan: String(actors.length), class: 'initial' }, [f.step]));
      } else {
        for (const a of actors) {
          const cell = h('td', {}, a === f.actor ? [f.step] : []);
          if (a === f.actor && f.note) cell.append(h('span', { class: 'note' }, [` (${f.note})`]));
          row.append(cell);
        }
      }
      if (i === vFrame) row.classList.add('violation');
      row.addEventListener('click', () => go(i));
      body.append(row);
      if (i === vFrame && i <= view.frame) {
        // the broken invariant, right under the step that breaks it, across all columns
        body.append(
          h('tr', { class: 'broken-row' }, [
            h('td', { class: 'num' }),
            h('td', { colspan: String(actors.length), class: 'broken', role: 'alert' }, [`✗ invariant broken: ${M.brokenInvariantText(r) || 'violation'}`]),
          ]),
        );
      }
    });
    table.append(body);
    const cur = body.querySelector('tr.current');
    if (cur && 'scrollIntoView' in cur) cur.scrollIntoView({ block: 'nearest' });
  }

  function renderState() {
    const sptesEl = $('sptes');
    const fieldsEl = $('fields');
    const invEl = $('invariants');
    sptesEl.textContent = '';
    fieldsEl.textContent = '';
    invEl.textContent = '';
    const frame = view.frames[view.frame];
    const r = view.result;
    if (!frame) {
      return;
    }
    const prev = view.frame > 0 ? view.frames[view.frame - 1].state : undefined;
    const changed = M.changedPaths(prev, frame.state);
    const { sptes, fields } = M.flattenState(frame.state);
    for (const { path, spte } of sptes) {
      const grid = h('div', { class: 'bits', role: 'list', 'aria-label': `${path} bits` });
      for (const b of M.SPTE_BITS) {
        if (!(b.key in spte)) continue;
        const on = spte[b.key] === true;
        const isChanged = changed.has(`${path}.${b.key}`);
        const cell = h('div', {
          class: `bit${on ? ' on' : ''}${isChanged ? ' changed' : ''}`,
          role: 'listitem',
          title: `${b.title} (EPT bit ${b.bit})`,
          'aria-label': `${b.label} ${on ? '1' : '0'}${isChanged ? ', changed at this step' : ''}`,
        }, [h('span', { class: 'bit-name' }, [b.label]), h('span', { class: 'bit-value' }, [on ? '1' : '0']), h('span', { class: 'bit-pos' }, [`bit ${b.bit}`])]);
        grid.append(cell);
      }
      const pfnChanged = changed.has(`${path}.pfn`);
      grid.append(
        h('div', { class: `bit pfn${pfnChanged ? ' changed' : ''}`, role: 'listitem', 'aria-label': `pfn ${spte.pfn}${pfnChanged ? ', changed at this step' : ''}` }, [
          h('span', { class: 'bit-name' }, ['pfn']),
          h('span', { class: 'bit-value' }, [String(spte.pfn)]),
          h('span', { class: 'bit-pos' }, ['bits 12+']),
        ]),
      );
      sptesEl.append(h('h3', {}, [path, h('code', { class: 'hex' }, [M.eptHex(spte)])]), grid);
    }
    if (fields.length) {
      fieldsEl.append(h('caption', {}, ['Other shared state']));
      for (const f of fields) {
        const isChanged = changed.has(f.path);
        fieldsEl.append(
          h('tr', { class: isChanged ? 'changed' : '' }, [
            h('th', { scope: 'row' }, [f.path]),
            h('td', {}, [typeof f.value === 'string' ? f.value : JSON.stringify(f.value)]),
          ]),
        );
      }
    }
    if (view.frame === M.violationFrame(r)) {
      invEl.append(h('p', { class: 'broken', role: 'alert' }, [`✗ Broken here: ${M.brokenInvariantText(r) || 'invariant violated'}`]));
    }
    if (!(Array.isArray(r.counterexample) && r.counterexample.length)) renderInvariantTally(invEl, r);
    if (Array.isArray(r.notes)) for (const n of r.notes) invEl.append(h('p', { class: 'note-line' }, [n]));
  }

  /** The fixed variant has no schedule to replay: list the invariants it was checked against. @param {HTMLElement} el @param {any} r */
  function renderInvariantTally(el, r) {
    const table = h('table', { class: 'fields' }, [h('caption', {}, ['Invariants checked'])]);
    const tally = Array.isArray(r.invariants) ? r.invariants : Array.isArray(r.byInvariant) ? r.byInvariant : [];
    if (!tally.length) return;
    for (const t of tally) {
      const text = t.states === 0 ? 'holds in every state' : t.tolerated ? `tolerated in ${M.formatCount(t.paths)} schedules` : `broken in ${M.formatCount(t.paths)} schedules`;
      table.append(h('tr', { class: t.states === 0 || t.tolerated ? '' : 'changed' }, [h('th', { scope: 'row' }, [t.message || t.id]), h('td', {}, [text])]));
    }
    el.append(table);
  }

  function renderControls() {
    const n = view.frames.length;
    const none = n === 0 || view.loading;
    for (const b of [firstBtn, backBtn]) /** @type {HTMLButtonElement} */ (b).disabled = none || view.frame === 0;
    for (const b of [fwdBtn, lastBtn]) /** @type {HTMLButtonElement} */ (b).disabled = none || view.frame >= n - 1;
    /** @type {HTMLButtonElement} */ (playBtn).disabled = none;
    playBtn.textContent = view.playing ? 'Pause' : 'Play';
    const playLabel = view.playing ? 'Pause (Space)' : 'Play (Space)';
    playBtn.setAttribute('aria-label', playLabel);
    playBtn.title = playLabel;
    slider.max = String(Math.max(0, n - 1));
    slider.value = String(view.frame);
    slider.disabled = none;
    position.textContent = n ? `Step ${view.frame} of ${n - 1}` : '';
  }

  function render() {
    renderHeader();
    renderTimeline();
    renderState();
    renderControls();
    vscode.setState({ id: view.scenario?.id, variant: view.variant, frame: view.frame });
  }

  // ---- interaction ----------------------------------------------------------------------------
  /** @param {number} i */
  function go(i) {
    const n = view.frames.length;
    if (n === 0) return;
    view.frame = Math.max(0, Math.min(n - 1, i));
    if (view.frame >= n - 1) stop();
    render();
  }
  function stop() {
    view.playing = false;
    if (view.timer) clearInterval(view.timer);
    view.timer = null;
  }
  function togglePlay() {
    if (view.frames.length === 0) return;
    if (view.playing) {
      stop();
      render();
      return;
    }
    if (view.frame >= view.frames.length - 1) view.frame = 0;
    view.playing = true;
    view.timer = setInterval(() => go(view.frame + 1), PLAY_INTERVAL_MS);
    render();
  }
  /** @param {string} variant */
  function chooseVariant(variant) {
    if (variant === view.variant && view.result) return;
    stop();
    view.variant = variant;
    view.loading = true;
    render();
    vscode.postMessage({ type: 'variant', variant });
  }

  buggyBtn.addEventListener('click', () => chooseVariant('buggy'));
  fixedBtn.addEventListener('click', () => chooseVariant('fixed'));
  firstBtn.addEventListener('click', () => go(0));
  backBtn.addEventListener('click', () => go(view.frame - 1));
  playBtn.addEventListener('click', () => togglePlay());
  fwdBtn.addEventListener('click', () => go(view.frame + 1));
  lastBtn.addEventListener('click', () => go(view.frames.length - 1));
  slider.addEventListener('input', () => go(Number(slider.value)));

  document.addEventListener('keydown', (e) => {
    const t = /** @type {HTMLElement} */ (e.target);
    const inSlider = t === slider;
    const onButton = t instanceof HTMLButtonElement;
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    if (t.getAttribute && t.getAttribute('role') === 'radio' && (e.key === 'ArrowLeft' || e.key === 'ArrowRight')) {
      // arrows move within the buggy/fixed radio group, as in any radio group
      const next = view.variant === 'buggy' ? fixedBtn : buggyBtn;
      next.focus();
      chooseVariant(next === fixedBtn ? 'fixed' : 'buggy');
      e.preventDefault();
      return;
    }
    if (inSlider) return; // the range input steps by itself
    switch (e.key) {
      case 'ArrowRight':
      case 'ArrowDown':
        go(view.frame + 1);
        break;
      case 'ArrowLeft':
      case 'ArrowUp':
        go(view.frame - 1);
        break;
      case 'Home':
        go(0);
        break;
      case 'End':
        go(view.frames.length - 1);
        break;
      case ' ':
        if (onButton) return; // Space activates the focused button
        togglePlay();
        break;
      default:
        return;
    }
    e.preventDefault();
  });

  window.addEventListener('message', (event) => {
    const msg = event.data;
    if (!msg || typeof msg !== 'object') return;
    if (msg.type === 'loading') {
      view.loading = true;
      view.variant = msg.variant || view.variant;
      render();
    } else if (msg.type === 'show') {
      stop();
      const sameScenario = view.scenario && msg.scenario && view.scenario.id === msg.scenario.id;
      view.scenario = msg.scenario;
      view.variant = msg.variant;
      view.result = msg.result;
      view.loading = false;
      view.frames = M.framesOf(msg.result);
      // Toggling buggy/fixed keeps the step; a new scenario starts at the beginning.
      const restored = typeof msg.frame === 'number' ? msg.frame : sameScenario ? view.frame : 0;
      view.frame = Math.max(0, Math.min(view.frames.length - 1, restored));
      render();
    } else if (msg.type === 'error') {
      stop();
      view.loading = false;
      render();
      const v = $('verdict');
      v.className = 'verdict bad';
      v.textContent = msg.message;
    }
  });

  render();
  vscode.postMessage({ type: 'ready', state: vscode.getState() || null });
})();
