/**
 * Cache of per-function check results (Check.runFunction), keyed by flow object. An entry stays
 * valid while its flow is the current one and no file its findings refer to has changed.
 */
import type { FunctionFlow } from '../analysis/types';
import type { Check, CheckContext } from './check';
import type { Finding } from './finding';

interface Entry {
  findings: Finding[];
  files: Set<string>;
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
      if (!e) {
        const findings = fnCheck.call(check, flow, ctx);
        const files = new Set<string>();
        for (const f of findings) {
          files.add(f.file);
          for (const r of f.related) files.add(r.file);
        }
        e = { findings, files };
      }
      next.set(flow, e);
      out.push(...e.findings);
    }
    this.entries.set(check, next);
    return out;
  }
}
