/** The check modules, run in order. Add a rule family by adding its module here. */
import type { Check, CheckContext } from './check';
import type { Finding } from './finding';
import { renderPlaces } from './places';
import { lockCycleCheck } from './lockCycle';
import { lockImbalanceCheck } from './lockImbalance';
import { lockOrderCheck } from './lockOrder';
import { lockRequiresCheck } from './lockRequires';
import { notifierLockCheck } from './notifierLock';
import { rwlockModeCheck } from './rwlockMode';
import { spteLocklessWriteCheck } from './spteLocklessWrite';
import { spteNonatomicCheck } from './spteNonatomic';
import { spteTlbFlushCheck } from './spteTlbFlush';
import { sleepInAtomicCheck } from './sleepInAtomic';
import { srcuOrderCheck } from './srcuOrder';
import { srcuRequiredCheck } from './srcuRequired';

export const CHECKS: readonly Check[] = [
  lockOrderCheck,
  lockCycleCheck,
  lockImbalanceCheck,
  srcuOrderCheck,
  sleepInAtomicCheck,
  lockRequiresCheck,
  rwlockModeCheck,
  notifierLockCheck,
  srcuRequiredCheck,
  spteNonatomicCheck,
  spteLocklessWriteCheck,
  spteTlbFlushCheck,
];

/**
 * Runs every check whose codes are not all disabled; a check that throws loses its findings only.
 * Per-function parts (Check.runFunction) run over every flow, through `perFunction` when given
 * (the engine passes its cache).
 */
export function runChecks(
  ctx: CheckContext,
  enabled: (code: Finding['code']) => boolean,
  checks: readonly Check[] = CHECKS,
  perFunction?: (check: Check) => Finding[],
): { findings: Finding[]; errors: string[] } {
  const findings: Finding[] = [];
  const errors: string[] = [];
  for (const c of checks) {
    if (!c.codes.some(enabled)) continue;
    try {
      for (const f of c.run(ctx)) findings.push(renderPlaces(f));
      if (c.runFunction) {
        if (perFunction) for (const f of perFunction(c)) findings.push(renderPlaces(f));
        else for (const flow of ctx.flows) for (const f of c.runFunction(flow, ctx)) findings.push(renderPlaces(f));
      }
    } catch (err) {
      errors.push(`${c.codes.join(',')}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { findings, errors };
}
