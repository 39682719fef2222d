/**
 * Race scenarios: the races locking.rst tells as CPU 0 | CPU 1 tables, replayed exhaustively by
 * the explorer in a 'buggy' and a 'fixed' variant.
 */
import type { InvariantTally, System } from '../explore/types';
import type { Spte } from '../spte/bits';

export type RaceVariant = 'buggy' | 'fixed';

export interface DocReference {
  /** e.g. "locking.rst" */
  document: string;
  /** e.g. "2. Exception / Fast page fault" */
  section: string;
  /** The story inside the section, e.g. "2) Dirty bit tracking". */
  story: string;
}

export interface ScenarioActorInfo {
  name: string;
  /** What the actor is, in the document's terms. */
  role: string;
}

export interface ScenarioInvariantInfo {
  id: string;
  message: string;
}

/** What `listScenarios()` returns: JSON-safe description of a scenario. */
export interface ScenarioInfo {
  id: string;
  title: string;
  docRef: DocReference;
  description: string;
  actors: ScenarioActorInfo[];
  /** What each variant does and what it demonstrates. */
  variants: Record<RaceVariant, string>;
  invariants: ScenarioInvariantInfo[];
}

export interface LabelledState<S> {
  label: string;
  state: S;
}

/** A scenario's definition, typed by its shared state S and actor locals L. */
export interface ScenarioSpec<S, L> {
  info: ScenarioInfo;
  initial: (variant: RaceVariant) => LabelledState<S>[];
  system: (variant: RaceVariant) => Omit<System<S, L>, 'initial'>;
  /** The SPTE of the state, for the table's SPTE column. */
  spte: (state: S) => Spte;
  /** The rest of the state worth showing after a step (dirty log, TLB, ...), short. */
  extras: (state: S) => string;
  /** Extra lines for the report (e.g. why a tolerated invariant is harmless). */
  notes?: (variant: RaceVariant) => string[];
}

/** One step of a counterexample (the DESIGN.md shape plus display fields). */
export interface RaceStep {
  actor: string;
  step: string;
  /** Shared state after the step (plain data). */
  state: unknown;
  actorIndex: number;
  stepId: string;
  /** The SPTE after the step, formatted. */
  spte: string;
  /** Other relevant state after the step, formatted. */
  extras: string;
}

/** `runScenario()` result: the DESIGN.md JSON shape plus extra fields. */
export interface RaceResult {
  id: string;
  variant: RaceVariant;
  statesExplored: number;
  interleavings: number;
  violations: number;
  counterexample: RaceStep[] | null;
  title: string;
  docRef: DocReference;
  description: string;
  variantDescription: string;
  actors: string[];
  /** The invariant the counterexample breaks, or null. */
  invariant: ScenarioInvariantInfo | null;
  /** Per invariant: how many states and schedules break it (tolerated ones included). */
  invariants: InvariantTally[];
  /** Initial state of the counterexample (or the first initial state). */
  initialState: unknown;
  initialLabel: string;
  initialSpte: string;
  initialExtras: string;
  /** All initial states explored, by label. */
  initialStates: string[];
  violatingStates: number;
  terminalStates: number;
  transitions: number;
  deadlocks: number;
  interleavingsExact: boolean;
  truncated: boolean;
  notes: string[];
  ms: number;
}
