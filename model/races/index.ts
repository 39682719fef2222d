/**
 * The race scenarios of locking.rst, replayed exhaustively.
 *
 *   listScenarios()              -> ScenarioInfo[]
 *   runScenario(id, variant)     -> RaceResult (DESIGN.md `race --format json` shape + extras)
 *   renderRaceText(result)       -> the counterexample as a CPU 0 | CPU 1 table
 */
import { runSpec } from './run';
import { gfnPfnAba } from './scenarios/gfn-pfn-aba';
import { lostDirtyBit } from './scenarios/lost-dirty-bit';
import { missingTlbFlush } from './scenarios/missing-tlb-flush';
import { accessTrackRestore } from './scenarios/access-track-restore';
import { accessedOnly } from './scenarios/accessed-only';
import type { RaceResult, RaceVariant, ScenarioInfo, ScenarioSpec } from './types';

export { renderRaceText } from './render';
export type * from './types';

interface Entry {
  info: ScenarioInfo;
  run: (variant: RaceVariant) => RaceResult;
}

function entry<S, L>(spec: ScenarioSpec<S, L>): Entry {
  return { info: spec.info, run: (variant) => runSpec(spec, variant) };
}

const SCENARIOS: Entry[] = [entry(lostDirtyBit), entry(gfnPfnAba), entry(missingTlbFlush), entry(accessTrackRestore), entry(accessedOnly)];

export function listScenarios(): ScenarioInfo[] {
  return SCENARIOS.map((s) => s.info);
}

export function runScenario(id: string, variant: RaceVariant = 'buggy'): RaceResult {
  const s = SCENARIOS.find((e) => e.info.id === id);
  if (!s) throw new Error(`unknown race scenario '${id}' (known: ${SCENARIOS.map((e) => e.info.id).join(', ')})`);
  if (variant !== 'buggy' && variant !== 'fixed') throw new Error(`variant must be 'buggy' or 'fixed'`);
  return s.run(variant);
}
