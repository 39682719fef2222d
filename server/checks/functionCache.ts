/**
 * Cache of per-function check results (Check.runFunction), keyed by flow object. An entry stays
 * valid while its flow is the current one, no file its findings refer to has changed, and the
 * check's `functionDeps` (versions of derived callee values) are the same.
 */
import type { FunctionFlow } from '../analysis/types';
import type { Check, CheckContext } from './check';
import type { Finding } from './finding';

interface Entry {
  findings: Finding[];
  files: Set<string>;
  deps?: readonly (number | string)[];
}

function sameDeps(a: readonly (number | string)[] | undefined, b: readonly (number | string)[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class FunctionCheckCache {
  private entries = new Map<Check, Map<FunctionFlow, Entry>>();

  /** Forgets entries whose findings point into a changed file. */
  invalidateFiles(changed: ReadonlySet<string>): void {
    if (changed.size === 0) return;
    for (const byFlow of this.entries.values()) {
      for (const [flow, e] of byFlow) {
        if (changed.has(flow.fn.file)) continue; // replaced anyway (new facts, new flow)
        for (const f of e.files) {
          if (changed.has(f)) {
            byFlow.delete(flow);
            break;
          }
        }
      }
    }
  }

  clear(): void {
    this.entries.clear();
  }

  /** Runs `check.runFunction` over all flows, reusing cached results; drops entries of flows that are gone. */
  run(check: Check, ctx: CheckContext): Finding[] {
    const fnCheck = check.runFunction;
    if (!fnCheck) return [];
    const prev = this.entries.get(check) ?? new Map<FunctionFlow, Entry>();
    const next = new Map<FunctionFlow, Entry>();
    const out: Finding[] = [];
    for (const flow of ctx.flows) {
      let e = prev.get(flow);
      const deps = check.functionDeps?.(flow, ctx);
      if (e && !sameDeps(e.deps, deps)) e = undefined;
      if (!e) {
        const findings = fnCheck.call(check, flow, ctx);
        const files = new Set<string>();
        for (const f of findings) {
          files.add(f.file);
          for (const r of f.related) files.add(r.file);
        }
        e = { findings, files, deps };
      }
      next.set(flow, e);
      out.push(...e.findings);
    }
    this.entries.set(check, next);
    return out;
  }
}
