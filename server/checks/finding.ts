/** A finding of a check, before it is rendered as an LSP diagnostic, a text line, JSON or SARIF. */
import type { Range } from '../frontend/facts';

export type Severity = 'error' | 'warning' | 'information';

/** The stable rule codes of DESIGN.md. */
export type RuleCode =
  | 'lock-order'
  | 'lock-cycle'
  | 'srcu-order'
  | 'sleep-in-atomic'
  | 'lock-requires'
  | 'rwlock-mode'
  | 'notifier-lock'
  | 'lock-imbalance'
  | 'srcu-required'
  | 'spte-nonatomic'
  | 'spte-lockless-write'
  | 'spte-tlb-flush';

export interface RelatedLocation {
  file: string;
  range: Range;
  message: string;
}

export interface Finding {
  code: RuleCode;
  severity: Severity;
  file: string;
  range: Range;
  message: string;
  /** The witness chain, in order: "held here" -> "calls f" -> ... -> "taken here". */
  related: RelatedLocation[];
  /** Where the broken rule is written: `locking.rst:37`, or `built-in`. */
  ruleRef?: string;
  /** The function the finding is reported in. */
  functionName?: string;
}
