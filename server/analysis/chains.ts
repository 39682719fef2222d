/** Expands the witness links kept in summaries into full chains ("calls f" -> ... -> "takes X"). */
import type { CallOp } from '../frontend/facts';
import type { ChainStep, Summary, Witness } from './types';

/** Is `target` a handler passed to the direct callee of `op` (`msr_io(vcpu, argp, do_set_msr)` reaching do_set_msr)? */
export function isHandlerTarget(op: CallOp, target: string): boolean {
  return !op.indirect && target !== op.callee;
}

/** How a message names what a call reaches: `msr_io with handler do_set_msr` for a handler, else the target. */
export function reachedThrough(op: CallOp, target: string): string {
  return isHandlerTarget(op, target) ? `${op.callee} with handler ${target}` : target;
}

/** The text of a chain step at a call reaching `target`: `calls f`, `calls msr_io with handler do_set_msr`. */
export function callStepText(op: CallOp, target: string): string {
  return `calls ${reachedThrough(op, target)}`;
}

const MAX_CHAIN = 32;

export type WitnessKind = 'takes' | 'sleep' | 'sync';

function nextWitness(sum: Summary, kind: WitnessKind, key: string): Witness | undefined {
  if (kind === 'takes') return sum.takes.get(key);
  if (kind === 'sleep') return sum.maySleep;
  return sum.syncs.get(key);
}

export function expandChain(first: Witness, kind: WitnessKind, summaryOf: (name: string) => Summary | undefined): ChainStep[] {
  const chain: ChainStep[] = [];
  let cur: Witness | undefined = first;
  const seen = new Set<string>();
  while (cur && chain.length < MAX_CHAIN) {
    if (cur.step) chain.push(cur.step);
    const n: Witness['next'] = cur.next;
    if (!n) break;
    const k = `${n.fn}|${n.key}`;
    if (seen.has(k)) break;
    seen.add(k);
    const sum = summaryOf(n.fn);
    cur = sum ? nextWitness(sum, kind, n.key) : undefined;
  }
  return chain;
}
