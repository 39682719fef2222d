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
  // Reverse postorder of the blocks reached from the entry (iterative DFS).
  const order = new Int32Array(n).fill(-1); // position in reverse postorder
  const post: number[] = [];
  const state = new Uint8Array(n); // 0 new, 1 on stack, 2 done
  const stack: number[] = [entry];
  const next: number[] = [0];
  state[entry] = 1;
  while (stack.length) {
    const b = stack[stack.length - 1];
    const succ = blocks[b].succ;
    const i = next[next.length - 1];
    if (i < succ.length) {
      next[next.length - 1] = i + 1;
      const t = succ[i].to;
      if (t >= 0 && t < n && state[t] === 0) {
        state[t] = 1;
        stack.push(t);
        next.push(0);
      }
    } else {
      state[b] = 2;
      post.push(b);
      stack.pop();
      next.pop();
    }
  }
  const m = post.length;
  const rpo = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    rpo[i] = post[m - 1 - i];
    order[rpo[i]] = i;
  }
  // Predecessors among reached blocks.
  const preds: number[][] = new Array(n);
  for (let i = 0; i < m; i++) {
    const y = rpo[i];
    for (const e of blocks[y].succ) {
      const z = e.to;
      if (z < 0 || z >= n) continue;
      (preds[z] ??= []).push(y);
    }
  }
  // Immediate dominators (Cooper, Harvey, Kennedy), indexed by block.
  const idom = new Int32Array(n).fill(-1);
  idom[entry] = entry;
  const intersect = (a: number, b: number): number => {
    while (a !== b) {
      while (order[a] > order[b]) a = idom[a];
      while (order[b] > order[a]) b = idom[b];
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = 1; i < m; i++) {
      const b = rpo[i];
      let d = -1;
      for (const p of preds[b] ?? []) {
        if (idom[p] < 0) continue;
        d = d < 0 ? p : intersect(p, d);
      }
      if (d >= 0 && idom[b] !== d) {
        idom[b] = d;
        changed = true;
      }
    }
  }
  // Pre/post numbers in the dominator tree: a dominates b iff pre[a] <= pre[b] && post[b] <= post[a].
  const children: number[][] = new Array(n);
  for (let i = 1; i < m; i++) (children[idom[rpo[i]]] ??= []).push(rpo[i]);
  const pre = new Int32Array(n);
  const postN = new Int32Array(n);
  let clock = 0;
  const tstack: number[] = [entry];
  const tnext: number[] = [0];
  pre[entry] = clock++;
  while (tstack.length) {
    const b = tstack[tstack.length - 1];
    const cs = children[b];
    const i = tnext[tnext.length - 1];
    if (cs && i < cs.length) {
      tnext[tnext.length - 1] = i + 1;
      const c = cs[i];
      pre[c] = clock++;
      tstack.push(c);
      tnext.push(0);
    } else {
      postN[b] = clock++;
      tstack.pop();
      tnext.pop();
    }
  }
  const cond = new Uint8Array(n);
  const exit = fn.exit;
  for (let i = 0; i < m; i++) {
    const y = rpo[i];
    for (const e of blocks[y].succ) {
      const z = e.to;
      if (z < 0 || z >= n || z === exit) continue;
      // Dominators of y (y included) that do not dominate z: z is reached after them and around them.
      for (let b = y; !(pre[b] <= pre[z] && postN[z] <= postN[b]); b = idom[b]) cond[b] = 1;
    }
  }
  for (let i = 0; i < m; i++) out[rpo[i]] = cond[rpo[i]] ? 0 : 1;
  return out;
}

const sitesCache = new WeakMap<FunctionFacts, Map<Op, number>>();

/**
 * For each call and assert op of the function: UNCONDITIONAL when it runs on every path, plus
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
      if (op.k !== 'call' && op.k !== 'assert') continue;
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
