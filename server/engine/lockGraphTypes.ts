/**
 * The lock-order picture ("KVM Lock Lint: Show lock order"): the documented order and the
 * orders observed in the workspace, as a graph. Served to the client by a custom LSP request.
 */
import type { RelatedLocation } from '../checks/finding';

export interface LockGraphNode {
  /** Lock class key, e.g. `kvm.slots_lock`. */
  id: string;
  /** The document's name when the class has one (`kvm->slots_lock`), else a readable form. */
  label: string;
  /** The lock appears in the rules (reference section or an order bullet). */
  documented: boolean;
  kind?: string;
}

export interface LockGraphEdge {
  /** Outer lock (held). */
  from: string;
  /** Inner lock (taken while `from` is held). */
  to: string;
  /** documented: only in the rules; observed: in the code and allowed; violation: observed against the rules. */
  kind: 'documented' | 'observed' | 'violation';
  /** For documented edges: `locking.rst:16` or `built-in`. */
  ruleRef?: string;
  /** For observed edges: the shortest witness chain (held here -> calls -> taken here). */
  witness?: RelatedLocation[];
}

export interface LockGraph {
  rulesSource: string;
  nodes: LockGraphNode[];
  edges: LockGraphEdge[];
}
