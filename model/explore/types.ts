/**
 * Types of the exhaustive interleaving explorer. A system is a shared state plus a few actors;
 * each actor is a small program of atomic steps over (shared state, its own locals).
 *
 * States must be plain data (objects, arrays, numbers, strings, booleans, null): the explorer
 * deduplicates them by a canonical serialisation, and the race reports print them as JSON.
 */

/** What one step produces: the next shared state and locals, and where the actor goes next. */
export interface StepOutcome<S, L> {
  state: S;
  locals: L;
  /** Next step by id or index; default the following step. */
  goto?: string | number;
  /** The actor finishes after this step. */
  done?: boolean;
  /** Shown after the step's label, e.g. which branch or choice was taken. */
  note?: string;
}

export interface Step<S, L> {
  /** Unique within the actor; the target of `goto` and what tests look for in traces. */
  id: string;
  /** Display text (a function may mention values of the pre-state). */
  label: string | ((state: S, locals: L) => string);
  /** When present and false, the actor is blocked at this step (e.g. waiting for a lock). */
  enabled?: (state: S, locals: L) => boolean;
  /**
   * The step itself, atomic. Returning several outcomes is a nondeterministic choice; each one
   * is explored (and counted as a separate schedule).
   */
  run: (state: S, locals: L) => StepOutcome<S, L> | StepOutcome<S, L>[];
}

export interface Actor<S, L> {
  name: string;
  locals: L;
  steps: Step<S, L>[];
}

export interface InvariantContext<L> {
  locals: L[];
  /** Per actor: finished its program. */
  done: boolean[];
  /** True at a terminal state (no actor can move). */
  terminal: boolean;
}

export interface Invariant<S, L> {
  id: string;
  /** Human message shown when the invariant is broken. */
  message: string;
  /** 'always': checked in every state (a path stops where it breaks); 'end': at terminal states. */
  when: 'always' | 'end';
  holds: (state: S, ctx: InvariantContext<L>) => boolean;
  /**
   * A property that may break without it being a bug (reported as tolerated, not as a
   * violation). Tolerated invariants are judged where a schedule ends.
   */
  tolerated?: boolean;
}

export interface System<S, L> {
  /** One or more initial shared states; each is a root of the exploration. */
  initial: S[];
  actors: Actor<S, L>[];
  invariants: Invariant<S, L>[];
}

export interface ExploreOptions<S> {
  /** Stop after this many distinct states (the result says `truncated`). Default 500 000. */
  maxStates?: number;
  /** Canonical key of a shared state; default a sorted-key JSON serialisation. */
  key?: (state: S) => string;
}

export interface TraceStep<S> {
  actor: string;
  actorIndex: number;
  /** The step's label (plus its outcome note, if any). */
  step: string;
  stepId: string;
  note?: string;
  /** Shared state after the step. */
  state: S;
}

export interface InvariantTally {
  id: string;
  message: string;
  tolerated: boolean;
  /** Distinct states where it is broken (terminal states for 'end' and tolerated invariants). */
  states: number;
  /** Complete schedules that end with it broken. */
  paths: number;
}

export interface ExploreResult<S> {
  /** Distinct global states (shared state + every actor's pc and locals) reached. */
  statesExplored: number;
  /** Transitions (actor steps, counting each nondeterministic outcome) between them. */
  transitions: number;
  /**
   * Complete schedules: sequences of steps from an initial state until no actor can move, or
   * until an 'always' invariant breaks. Counted exactly on the deduplicated state graph (the
   * number of root-to-terminal paths), so it equals what a naive enumeration without
   * deduplication would find, while the explorer only visits `statesExplored` states.
   */
  interleavings: number;
  /** False if the state graph had a cycle (a retry loop that can come back to a state): then
   *  `interleavings` counts only schedules that do not go round a cycle. */
  interleavingsExact: boolean;
  terminalStates: number;
  /** Complete schedules that end with a (non-tolerated) invariant broken. */
  violations: number;
  /** Distinct states in which a (non-tolerated) invariant is broken. */
  violatingStates: number;
  /** Terminal states where some actor has not finished (all blocked). */
  deadlocks: number;
  byInvariant: InvariantTally[];
  /** A shortest violating schedule (breadth-first), or null. */
  counterexample: TraceStep<S>[] | null;
  /** The initial state the counterexample starts from. */
  counterexampleInitial: S | null;
  /** The invariant the counterexample breaks. */
  brokenInvariant: { id: string; message: string } | null;
  truncated: boolean;
  ms: number;
}
