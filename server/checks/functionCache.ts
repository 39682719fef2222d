/**
 * Cache of per-function check results (Check.runFunction), keyed by flow object. An entry stays
 * valid while its flow is the current one, no file its findings refer to has changed, and the
 * check's `functionDeps` (versions of derived callee values) are the same.
 */
import type { PositionMap } from '../analysis/rebase';
import type { FunctionFlow } from '../analysis/types';
import type { Check, CheckContext } from './check';
import type { Finding } from './finding';

interface Entry {
  findings: Finding[];
  files: Set<string>;
  deps?: readonly (number | string)[];
  /** FunctionDepsDelta.key when the entry was made or last confirmed. */
  key?: string;
  /** FunctionDepsDelta.names of the flow (fixed per flow content). */
  names?: readonly string[];
}

function sameDeps(a: readonly (number | string)[] | undefined, b: readonly (number | string)[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const POSITION_IN_TEXT = /:\d|line \d/;

/** Findings with their positions moved onto the current text, or null when one does not map. */
function moveFindings(list: readonly Finding[], moved: PositionMap): Finding[] | null {
  const out: Finding[] = [];
  for (const f of list) {
    // A position written into the message (`mmu.c:120`, `at line 120`) cannot be moved: re-run.
    if (POSITION_IN_TEXT.test(f.message)) return null;
    const range = moved.range(f.file, f.range);
    if (!range) return null;
    let related = f.related;
    for (let i = 0; i < f.related.length; i++) {
      const r = f.related[i];
      const rr = moved.range(r.file, r.range);
      if (!rr) return null;
      if (rr !== r.range) {
        if (related === f.related) related = [...f.related];
        related[i] = { ...r, range: rr };
      }
    }
    out.push(range === f.range && related === f.related ? f : { ...f, range, related });
  }
  return out;
}

export class FunctionCheckCache {
  private entries = new Map<Check, Map<FunctionFlow, Entry>>();
  /** Per check: the derived-value generation its entries were last confirmed against. */
  private generations = new Map<Check, number>();

  /**
   * Brings entries over an edit: an entry whose findings point into a changed file is moved
   * with `moved` when every such position maps (an entry of a rebased flow is re-keyed to the
   * new flow), else forgotten. Without `moved`, every entry pointing into a changed file goes.
   */
  invalidateFiles(changed: ReadonlySet<string>, moved?: PositionMap, flows?: readonly FunctionFlow[]): void {
    if (changed.size === 0) return;
    if (moved && flows) {
      const rebased: [FunctionFlow, FunctionFlow][] = [];
      for (const flow of flows) {
        const prev = moved.predecessor(flow);
        if (prev) rebased.push([prev, flow]);
      }
      for (const byFlow of this.entries.values()) {
        for (const [prev, flow] of rebased) {
          const e = byFlow.get(prev);
          if (e) {
            byFlow.delete(prev);
            byFlow.set(flow, e);
          }
        }
        for (const [flow, e] of byFlow) {
          let touches = false;
          for (const f of e.files) if (moved.touches(f)) touches = true;
          if (!touches) continue;
          const findings = moveFindings(e.findings, moved);
          if (findings) byFlow.set(flow, { ...e, findings });
          else byFlow.delete(flow);
        }
      }
      return;
    }
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
    this.generations.clear();
  }

  /** Runs `check.runFunction` over all flows, reusing cached results; drops entries of flows that are gone. */
  run(check: Check, ctx: CheckContext): Finding[] {
    const fnCheck = check.runFunction;
    if (!fnCheck) return [];
    // Updated in place (most entries stay); entries of flows that are gone are dropped after.
    const byFlow = this.entries.get(check) ?? new Map<FunctionFlow, Entry>();
    const out: Finding[] = [];
    const delta = check.functionDeps ? check.functionDepsDelta?.(ctx) : undefined;
    // The changed names are relative to the previous analysis: usable only if this check saw it.
    const changed = delta && this.generations.get(check) === delta.changes.generation - 1 ? delta.changes.names : null;
    // Keys known unchanged only relative to the previous analysis, like `changed`.
    const keyChanges = changed ? delta?.keyChanges : undefined;
    if (delta) this.generations.set(check, delta.changes.generation);
    else this.generations.delete(check);
    const depsOf = check.functionDeps;
    const rerunFindings = check.rerunEntriesWithFindings === true;
    for (const flow of ctx.flows) {
      let e = byFlow.get(flow);
      if (e && rerunFindings && e.findings.length > 0) e = undefined;
      if (e && !depsOf) {
        // Depends on the flow (and the files its findings point into, see invalidateFiles) only.
        for (const f of e.findings) out.push(f);
        continue;
      }
      const key = e && keyChanges && e.key !== undefined && !keyChanges.has(flow.fn.name) ? e.key : delta?.key(flow);
      if (e && changed && e.key === key) {
        const names = (e.names ??= delta!.names(flow));
        let hit = false;
        for (let i = 0; i < names.length && !hit; i++) hit = changed.has(names[i]);
        if (!hit) {
          for (const f of e.findings) out.push(f);
          continue;
        }
      }
      const deps = depsOf?.call(check, flow, ctx);
      const old = e;
      if (e && !sameDeps(e.deps, deps)) e = undefined;
      else if (e && e.key !== key) e = { ...e, key };
      if (!e) {
        const findings = fnCheck.call(check, flow, ctx);
        const files = new Set<string>();
        for (const f of findings) {
          files.add(f.file);
          for (const r of f.related) files.add(r.file);
        }
        e = { findings, files, deps, key };
      }
      if (e !== old) byFlow.set(flow, e);
      for (const f of e.findings) out.push(f);
    }
    if (byFlow.size > ctx.flows.length) {
      const alive = new Set(ctx.flows);
      for (const flow of byFlow.keys()) if (!alive.has(flow)) byFlow.delete(flow);
    }
    this.entries.set(check, byFlow);
    return out;
  }
}
