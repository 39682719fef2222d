/**
 * How an SPTE op writes, from the helper contracts of model/spte/helpers.ts: the one place the
 * SPTE checks turn an op into "plain", "conditional", "atomic" or "read".
 */
import { spteHelper, type SpteHelperContract } from '../../model/spte/helpers';
import type { SpteOp } from '../frontend/facts';

export type WriteKind = 'plain' | 'conditional' | 'atomic' | 'read';

/** Generic atomics the contract table does not list by name (set_bit, test_and_set_bit, ...). */
const OTHER_ATOMICS = /^(test_and_)?(set|clear|change)_bit$|cmpxchg|xchg|^atomic64_/;

export function contractOf(op: SpteOp): SpteHelperContract | undefined {
  if (op.access === 'store') return spteHelper('WRITE_ONCE');
  return op.helper ? spteHelper(op.helper) : undefined;
}

export function writeKind(op: SpteOp): WriteKind {
  if (op.access === 'store') return 'plain';
  const c = contractOf(op);
  if (!c) return op.helper && OTHER_ATOMICS.test(op.helper) ? 'atomic' : 'conditional';
  switch (c.atomicity) {
    case 'plain':
      return 'plain';
    case 'conditional':
      return 'conditional';
    case 'read':
      return 'read';
    default:
      return 'atomic';
  }
}

/** `plain store to SPTE \`*sptep\`` / `__update_clear_spte_fast()`: how a message names the write. */
export function describeWrite(op: SpteOp): string {
  if (op.access === 'store') {
    const lvalue = /\]\s*$/.test(op.target) ? op.target : `*${op.target}`;
    return op.api === 'WRITE_ONCE' || op.api === '__WRITE_ONCE' ? `${op.api}(${lvalue}, ...)` : `plain store to \`${lvalue}\``;
  }
  return `${op.helper}()`;
}
