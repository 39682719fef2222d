/**
 * Where the call and assert ops of a function sit, for the requirement checks
 * (./requirements.ts, ./srcuRequired.ts): whether each runs on every path (lockSupport's
 * isUnconditional) and whether its block is guarded by a parameter (paramGuardedBlocks),
 * found for all blocks of a function at once and kept per function.
 *
 * isUnconditional asks, per block b, whether some block other than the exit is reached both
 * after b and from the entry without passing b. For a block reachable from the entry that is
 * the same as: no CFG edge y -> z (z not the exit) leaves b's dominator subtree from a block b
 * dominates (y itself reached from the entry). So every edge marks, as conditional, the
 * dominators of y that do not dominate z: one dominator tree and one walk per edge instead of
 * two searches per asked block. Blocks the entry does not reach are left to isUnconditional.
 */
import type { FunctionFacts, Op } from '../frontend/facts';
import { isUnconditional, paramGuardedBlocks } from './lockSupport';

/** Bits of an op's site. */
export const UNCONDITIONAL = 1;
export const GUARDED = 2;

/**
 * Per block: 1 when it runs on every path, 0 when not, -1 when unknown here (not reached from
 * the entry: ask isUnconditional).
 */
export function unconditionalBlocks(fn: FunctionFacts): Int8Array {
  const blocks = fn.blocks;
  const n = blocks.length;
  const out = new Int8Array(n).fill(-1);
  const entry = fn.entry;
  if (entry < 0 || entry >= n) return out;
  // A straight line (no block with two successors): every block it reaches runs on every path.
  let branches = false;
  for (let b = 0; b < n && !branches; b++) if (blocks[b].succ.length > 1) branches = true;
  if (!branches) {
    let b = entry;
    for (; b >= 0 && b < n && out[b] < 0; b = blocks[b].succ.length ? blocks[b].succ[0].to : -1) out[b] = 1;
    if (b < 0 || b >= n) return out;
    out.fill(-1); // a cycle: the general way below
  }
  const w = scratch(n);
  // Reverse postorder of the blocks reached from the entry (iterative DFS).
  const { order, state, stack, next, rpo, idom, pre, post, cond, predStart, predFill, childStart, childFill, children } = w;
  order.fill(-1, 0, n);
  state.fill(0, 0, n);
  let sp = 0;
  let m = 0; // blocks finished so far (postorder written backwards into rpo below)
  const postorder = w.postorder;
  stack[0] = entry;
  next[0] = 0;
  sp = 1;
  state[entry] = 1;
  while (sp > 0) {
    const b = stack[sp - 1];
    const succ = blocks[b].succ;
    const i = next[sp - 1];
    if (i < succ.length) {
      next[sp - 1] = i + 1;
      const t = succ[i].to;
      if (t >= 0 && t < n && state[t] === 0) {
        state[t] = 1;
        stack[sp] = t;
        next[sp] = 0;
        sp++;
      }
    } else {
      state[b] = 2;
      postorder[m++] = b;
      sp--;
    }
  }
  for (let i = 0; i < m; i++) {
    const b = postorder[m - 1 - i];
    rpo[i] = b;
    order[b] = i;
  }
  // Predecessors among reached blocks, as one array sliced per block (counts, then fill).
  predStart.fill(0, 0, n + 1);
  for (let i = 0; i < m; i++) {
    for (const e of blocks[rpo[i]].succ) {
      const z = e.to;
      if (z >= 0 && z < n) predStart[z + 1]++;
    }
  }
  for (let b = 0; b < n; b++) predStart[b + 1] += predStart[b];
  if (w.preds.length < predStart[n]) w.preds = new Int32Array(2 * predStart[n]);
  const preds = w.preds;
  predFill.set(predStart.subarray(0, n), 0);
  for (let i = 0; i < m; i++) {
    const y = rpo[i];
    for (const e of blocks[y].succ) {
      const z = e.to;
      if (z >= 0 && z < n) preds[predFill[z]++] = y;
    }
  }
  // Immediate dominators (Cooper, Harvey, Kennedy), indexed by block.
  idom.fill(-1, 0, n);
  idom[entry] = entry;
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = 1; i < m; i++) {
      const b = rpo[i];
      let d = -1;
      for (let k = predStart[b]; k < predStart[b + 1]; k++) {
        const p = preds[k];
        if (idom[p] < 0) continue;
        if (d < 0) {
          d = p;
          continue;
        }
        let a = p;
        while (a !== d) {
          while (order[a] > order[d]) a = idom[a];
          while (order[d] > order[a]) d = idom[d];
        }
      }
      if (d >= 0 && idom[b] !== d) {
        idom[b] = d;
        changed = true;
      }
    }
  }
  // Pre/post numbers in the dominator tree: a dominates b iff pre[a] <= pre[b] && post[b] <= post[a].
  childStart.fill(0, 0, n + 1);
  for (let i = 1; i < m; i++) childStart[idom[rpo[i]] + 1]++;
  for (let b = 0; b < n; b++) childStart[b + 1] += childStart[b];
  childFill.set(childStart.subarray(0, n), 0);
  for (let i = 1; i < m; i++) children[childFill[idom[rpo[i]]]++] = rpo[i];
  let clock = 0;
  stack[0] = entry;
  next[0] = childStart[entry];
  sp = 1;
  pre[entry] = clock++;
  while (sp > 0) {
    const b = stack[sp - 1];
    const k = next[sp - 1];
    if (k < childStart[b + 1]) {
      next[sp - 1] = k + 1;
      const c = children[k];
      pre[c] = clock++;
      stack[sp] = c;
      next[sp] = childStart[c];
      sp++;
    } else {
      post[b] = clock++;
      sp--;
    }
  }
  const exit = fn.exit;
  for (let i = 0; i < m; i++) cond[rpo[i]] = 0;
  for (let i = 0; i < m; i++) {
    const y = rpo[i];
    for (const e of blocks[y].succ) {
      const z = e.to;
      if (z < 0 || z >= n || z === exit) continue;
      // Dominators of y (y included) that do not dominate z: z is reached after them and around them.
      for (let b = y; !(pre[b] <= pre[z] && post[z] <= post[b]); b = idom[b]) cond[b] = 1;
    }
  }
  for (let i = 0; i < m; i++) out[rpo[i]] = cond[rpo[i]] ? 0 : 1;
  return out;
}

/** Working arrays of unconditionalBlocks, reused from one function to the next (grown as needed). */
interface Scratch {
  size: number;
  order: Int32Array;
  state: Uint8Array;
  stack: Int32Array;
  next: Int32Array;
  postorder: Int32Array;
  rpo: Int32Array;
  idom: Int32Array;
  pre: Int32Array;
  post: Int32Array;
  cond: Uint8Array;
  predStart: Int32Array;
  predFill: Int32Array;
  preds: Int32Array;
  childStart: Int32Array;
  childFill: Int32Array;
  children: Int32Array;
}

let shared: Scratch | undefined;

function scratch(n: number): Scratch {
  if (shared && shared.size >= n) return shared;
  const size = Math.max(64, n * 2);
  shared = {
    size,
    order: new Int32Array(size),
    state: new Uint8Array(size),
    stack: new Int32Array(size),
    next: new Int32Array(size),
    postorder: new Int32Array(size),
    rpo: new Int32Array(size),
    idom: new Int32Array(size),
    pre: new Int32Array(size),
    post: new Int32Array(size),
    cond: new Uint8Array(size),
    predStart: new Int32Array(size + 1),
    predFill: new Int32Array(size),
    preds: new Int32Array(size * 2), // grown by the edge count when short
    childStart: new Int32Array(size + 1),
    childFill: new Int32Array(size),
    children: new Int32Array(size),
  };
  return shared;
}

const sitesCache = new WeakMap<FunctionFacts, Map<Op, number>>();

/**
 * For each call, assert and acquire op of the function: UNCONDITIONAL when it runs on every path, plus
 * GUARDED when its block depends on a parameter's value (only looked up for unconditional calls).
 */
export function callSites(fn: FunctionFacts): Map<Op, number> {
  let sites = sitesCache.get(fn);
  if (sites) return sites;
  sites = new Map();
  let uncond: Int8Array | undefined;
  let guarded: Set<number> | undefined;
  const blocks = fn.blocks;
  for (let b = 0; b < blocks.length; b++) {
    const ops = blocks[b].ops;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      if (op.k !== 'call' && op.k !== 'assert' && op.k !== 'acquire') continue;
      // An op listed twice takes its last block (as blockOf does).
      uncond ??= unconditionalBlocks(fn);
      const u = uncond[b] < 0 ? isUnconditional(fn, op) : uncond[b] === 1;
      let bits = u ? UNCONDITIONAL : 0;
      if (u && op.k === 'call' && (guarded ??= paramGuardedBlocks(fn)).has(b)) bits |= GUARDED;
      sites.set(op, bits);
    }
  }
  sitesCache.set(fn, sites);
  return sites;
}
