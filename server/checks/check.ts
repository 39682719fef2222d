/**
 * The check interface. A check is one module with one job: it reads the analysis results in the
 * context and returns findings. Severity, enablement and suppression are applied afterwards, in
 * one place (./policy.ts), so a check just uses its rule's default severity.
 */
import type { ValidPositions } from '../analysis/keptFlows';
import type { RuleModel } from '../../model/rules/types';
import type { ClassResolver, DocNames } from '../analysis/classes';
import type { WorkspaceIndex } from '../analysis/index';
import type { OrderRules } from '../analysis/orders';
import type { ChainStep, FunctionFlow, Summary } from '../analysis/types';
import type { ChosenFlowChanges } from '../analysis/summaries';
import type { FunctionFacts, Range } from '../frontend/facts';
import type { Finding, RelatedLocation, RuleCode } from './finding';

export interface CheckContext {
  index: WorkspaceIndex;
  rules: RuleModel;
  resolver: ClassResolver;
  names: DocNames;
  orders: OrderRules;
  /** Every analysed function body: the chosen definition of each name and the other definitions too. */
  flows: readonly FunctionFlow[];
  /** The flow of the chosen definition of each name (computed from `flows` when absent). */
  chosen?: ReadonlyMap<string, FunctionFlow>;
  /**
   * With `chosen`, when the engine knows it: the names whose entry in `chosen` changed in this
   * analysis, so that caches kept in `store` look at those only (./derived.ts).
   */
  chosenChanges?: ChosenFlowChanges;
  /** Summaries by function name (chosen definitions). */
  summaries: ReadonlyMap<string, Summary>;
  /** Summary of a callee, including the built-in ones of kernel functions outside the workspace. */
  summaryOf(name: string): Summary | undefined;
  /** The name to show for a lock class (the document's when it has one). */
  display(cls: string): string;
  /** `locking.rst:16`, or `built-in rule` for a rule with no document line. */
  ruleRef(line: number): string;
  /**
   * Kept by the engine from one analysis to the next (same rules): checks keep their derived
   * per-function values here (./derived.ts). Absent: nothing is reused.
   */
  store?: Map<string, unknown>;
  /**
   * Which positions of the previous analysis are still valid (set by the engine with `store`):
   * a result kept across an edit that points into a changed file is kept when every place it
   * names lies in a function whose flow is kept (positions move in place, frontend/moves.ts).
   * Absent: a changed file invalidates everything that points into it.
   */
  valid?: ValidPositions;
  /**
   * Nothing of this analysis is reused (WorkspaceOptions.oneShot): caches need not record what
   * their values read, nor index flows for the next analysis.
   */
  oneShot?: boolean;
}

export interface Check {
  /** The codes this check may report. */
  codes: readonly RuleCode[];
  /** The whole-workspace part (may return [] when everything is in runFunction). */
  run(ctx: CheckContext): Finding[];
  /**
   * Optional per-function part: findings that depend only on this flow and on the summaries of
   * its callees. The engine caches them per flow object (a flow is replaced whenever its
   * function or a callee's summary changes) and drops a cached entry when a file its findings
   * point into changed, so an edit re-runs this only for the functions it touched. Prefer it
   * for anything that loops over `ctx.flows`: it is what keeps re-checks within budget.
   */
  runFunction?(flow: FunctionFlow, ctx: CheckContext): Finding[];
  /**
   * What else `runFunction(flow)` reads that can change while the flow stays the same object:
   * versions of derived callee values (./derived.ts) and anything global. The engine re-runs
   * the per-function part when this differs from last time. Absent: the flow and the files
   * its findings point into are all it depends on.
   */
  functionDeps?(flow: FunctionFlow, ctx: CheckContext): readonly (number | string)[];
  /**
   * Optional fast path of `functionDeps`, so that a re-check does not compute it for every flow:
   * `changes` are the names whose derived values changed version in this analysis (from
   * DerivedCache.changes()), `names(flow)` the names whose versions functionDeps reads for a
   * flow, `key(flow)` everything else it covers. A flow that is the same object as last time,
   * with the same key and no changed name, keeps its result without functionDeps being called.
   */
  functionDepsDelta?(ctx: CheckContext): FunctionDepsDelta | undefined;
  /**
   * The findings of `runFunction` show witness chains read through callees' derived values at
   * a depth that `functionDeps` does not cover (a chain can change below a callee whose value
   * keeps its version): a cached entry with findings is re-run in every analysis, one without
   * is reused as usual (what makes a finding appear is covered by `functionDeps`).
   */
  rerunEntriesWithFindings?: boolean;
}

export interface FunctionDepsDelta {
  changes: { generation: number; names: ReadonlySet<string> | null };
  names(flow: FunctionFlow): readonly string[];
  /**
   * A function declared without parameters (`() => config`) is the same for every flow: it is
   * called once per analysis, and a flow's key changes only when that value does.
   */
  key(flow: FunctionFlow): string;
  /**
   * Names of the flows whose `key` may differ from the previous analysis; a flow with the same
   * object and another name keeps its key without `key` being called. Absent or null: every
   * flow's key is computed.
   */
  keyChanges?: ReadonlySet<string> | null;
}

/** "calls f" / "takes X" chain steps as related locations, with class keys shown by document name. */
export function chainToRelated(ctx: CheckContext, chain: readonly ChainStep[]): RelatedLocation[] {
  return chain.map((s) => ({
    file: s.file,
    range: s.range,
    message: s.what.replace(/^takes (\S+)$/, (_m, cls: string) => `${ctx.display(cls)} taken here`),
  }));
}

export function functionOfFlow(flow: FunctionFlow): FunctionFacts {
  return flow.fn;
}

export function rangeKey(r: Range): string {
  return `${r.start.line}:${r.start.column}`;
}
