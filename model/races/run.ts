/** Runs a scenario through the explorer and shapes the result. */
import { explore } from '../explore/explore';
import { stableKey } from '../explore/stable-key';
import { formatSpte } from '../spte/bits';
import type { RaceResult, RaceVariant, ScenarioSpec } from './types';

export function runSpec<S, L>(spec: ScenarioSpec<S, L>, variant: RaceVariant): RaceResult {
  const initial = spec.initial(variant);
  const sys = spec.system(variant);
  const res = explore({ ...sys, initial: initial.map((i) => i.state) });

  let start = initial[0];
  if (res.counterexampleInitial !== null) {
    const key = stableKey(res.counterexampleInitial);
    start = initial.find((i) => stableKey(i.state) === key) ?? start;
  }

  const counterexample =
    res.counterexample?.map((t) => ({
      actor: t.actor,
      step: t.step,
      state: t.state as unknown,
      actorIndex: t.actorIndex,
      stepId: t.stepId,
      spte: formatSpte(spec.spte(t.state)),
      extras: spec.extras(t.state),
    })) ?? null;

  return {
    id: spec.info.id,
    variant,
    statesExplored: res.statesExplored,
    interleavings: res.interleavings,
    violations: res.violations,
    counterexample,
    title: spec.info.title,
    docRef: spec.info.docRef,
    description: spec.info.description,
    variantDescription: spec.info.variants[variant],
    actors: sys.actors.map((a) => a.name),
    invariant: res.brokenInvariant,
    invariants: res.byInvariant,
    initialState: start.state,
    initialLabel: start.label,
    initialSpte: formatSpte(spec.spte(start.state)),
    initialExtras: spec.extras(start.state),
    initialStates: initial.map((i) => i.label),
    violatingStates: res.violatingStates,
    terminalStates: res.terminalStates,
    transitions: res.transitions,
    deadlocks: res.deadlocks,
    interleavingsExact: res.interleavingsExact,
    truncated: res.truncated,
    notes: spec.notes?.(variant) ?? [],
    ms: res.ms,
  };
}
