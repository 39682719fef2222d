/**
 * The Workspace: files in, findings and hovers out. Keeps one SourceFile per path (incremental
 * parses) or facts handed over by the command line's workers, and re-analyses only what changed:
 * the index is rebuilt from cached facts (cheap), the flows and summaries of changed functions
 * and of callers whose callees' summaries changed are recomputed, then the checks run.
 */
import type { RuleModel } from '../../model/rules/types';
import { ClassResolver, DocNames } from '../analysis/classes';
import { IndexBuilder, type WorkspaceIndex } from '../analysis/index';
import { expandChain } from '../analysis/chains';
import { observedEdges, type ObservedEdge } from '../analysis/lockGraph';
import { OrderRules } from '../analysis/orders';
import { SummarySolver } from '../analysis/summaries';
import { ValidPositions } from '../analysis/keptFlows';
import type { FunctionFlow } from '../analysis/types';
import { chainToRelated, type CheckContext } from '../checks/check';
import type { Finding, RelatedLocation } from '../checks/finding';
import { CHECKS, runChecks } from '../checks/index';
import { FunctionCheckCache } from '../checks/functionCache';
import { applyPolicy, isEnabled } from '../checks/policy';
import type { FileFacts, FunctionFacts, Pos } from '../frontend/facts';
import type { AnalysisResult, HoverInfo, TextChange, Workspace, WorkspaceOptions } from './api';
import type { FrontendPort, SourceFileLike } from './frontendPort';
import { defaultFrontend } from './frontendDefault';
import { heldHover, lockHover, spteHelperHover } from './hover';
import type { LockGraph, LockGraphEdge, LockGraphNode } from './lockGraphTypes';

interface FileEntry {
  sf?: SourceFileLike;
  facts: FileFacts;
}

const lockEventCache = new WeakMap<FileFacts, number>();

/** Lock operations of a file (calls and flag assignments excluded), cached by facts object. */
function lockEventsOf(f: FileFacts): number {
  let n = lockEventCache.get(f);
  if (n === undefined) {
    n = 0;
    for (const fn of f.functions) for (const b of fn.blocks) for (const op of b.ops) if (op.k !== 'call' && op.k !== 'assign') n++;
    lockEventCache.set(f, n);
  }
  return n;
}

function baseName(p: string): string {
  const i = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  return i >= 0 ? p.slice(i + 1) : p;
}

export class WorkspaceImpl implements Workspace {
  readonly rules: RuleModel;
  private readonly files = new Map<string, FileEntry>();
  private changed = true;
  private index: WorkspaceIndex | undefined;
  /** Patches the index for the changed files when they define the same names (analysis/index.ts). */
  private readonly indexBuilder = new IndexBuilder();
  private resolver: ClassResolver | undefined;
  private names: DocNames | undefined;
  private orders: OrderRules | undefined;
  private solver: SummarySolver | undefined;
  private last: AnalysisResult | undefined;
  private lastCtx: CheckContext | undefined;
  private readonly functionChecks = new FunctionCheckCache();
  /** Derived per-function values of the checks, kept across analyses (checks/derived.ts). */
  private readonly checkStore = new Map<string, unknown>();
  /** Facts file names changed since the last analyze() (for the per-function check cache). */
  private changedFiles = new Set<string>();
  /** Problems met while analysing (a check that threw), for logs. */
  readonly problems: string[] = [];

  constructor(
    private readonly opts: WorkspaceOptions,
    private readonly frontend: FrontendPort | undefined,
  ) {
    this.rules = opts.rules;
  }

  setFile(path: string, text: string, changes?: TextChange[]): void {
    const entry = this.files.get(path);
    if (entry?.sf && entry.sf.text === text) return;
    if (!this.frontend) throw new Error('kvm-locklint: no C front end available; use setFacts');
    if (entry?.sf) {
      const prevHash = entry.facts.hash;
      entry.facts = entry.sf.update(text, changes);
      if (entry.facts.hash !== prevHash) this.markChanged(entry.facts.file);
      return;
    }
    const sf = this.frontend.open(path, text);
    this.files.set(path, { sf, facts: sf.facts });
    this.markChanged(sf.facts.file);
  }

  setFacts(path: string, facts: FileFacts): void {
    const entry = this.files.get(path);
    if (entry && entry.facts.hash === facts.hash && entry.facts.hash !== '') return;
    entry?.sf?.dispose();
    this.files.set(path, { facts });
    if (entry) this.markChanged(entry.facts.file);
    this.markChanged(facts.file);
  }

  removeFile(path: string): void {
    const entry = this.files.get(path);
    if (!entry) return;
    entry.sf?.dispose();
    this.files.delete(path);
    this.markChanged(entry.facts.file);
  }

  private markChanged(file: string): void {
    this.changed = true;
    this.changedFiles.add(file);
  }

  hasFile(path: string): boolean {
    return this.files.has(path);
  }

  private ruleRef = (line: number): string => (line > 0 && this.rules.origin === 'document' ? `${baseName(this.rules.source)}:${line}` : 'built-in rule');

  analyze(): AnalysisResult {
    const t0 = performance.now();
    if (!this.changed && this.last) return { ...this.last, stats: { ...this.last.stats, ms: performance.now() - t0, phases: {}, recomputed: 0 } };
    if (this.opts.oneShot && this.last) {
      // Nothing was recorded for a re-check: everything afresh.
      this.checkStore.clear();
      this.functionChecks.clear();
      this.solver = undefined;
      this.index = undefined;
    }
    const facts = [...this.files.values()].map((e) => e.facts).filter((f) => !f.skipped);
    const phases: Record<string, number> = {};
    let tp = performance.now();
    const phase = (name: string): void => {
      const now = performance.now();
      phases[name] = (phases[name] ?? 0) + (now - tp);
      tp = now;
    };
    const index = this.indexBuilder.build(facts);
    phase('index');
    const layoutChanged = !this.index || index.layoutSignature !== this.index.layoutSignature;
    if (layoutChanged || !this.resolver) {
      this.resolver = new ClassResolver(index);
      this.names = new DocNames(this.rules, this.resolver);
      this.orders = new OrderRules(this.rules, this.names);
    } else {
      this.resolver.setIndex(index);
    }
    this.index = index;
    if (!this.solver) this.solver = new SummarySolver(index, this.resolver);
    // The flows of changed files before the solve: positions in the ones it keeps stay valid.
    const before = layoutChanged ? [] : this.flowsOfFiles(this.changedFiles);
    const solved = this.solver.solve(index, this.resolver, layoutChanged);
    phase('summaries');
    const valid = layoutChanged ? undefined : this.validPositions(before);

    const solver = this.solver;
    const names = this.names!;
    const ctx: CheckContext = {
      index,
      rules: this.rules,
      resolver: this.resolver,
      names,
      orders: this.orders!,
      flows: solver.allFlows(),
      chosen: solver.flows,
      chosenChanges: solver.flowChanges(),
      summaries: solver.summaries,
      summaryOf: solver.summaryOf,
      display: (cls) => names.display(cls),
      ruleRef: this.ruleRef,
      store: this.checkStore,
      valid,
      oneShot: this.opts.oneShot,
    };
    this.lastCtx = ctx;
    const raw: Finding[] = [];
    if (layoutChanged) this.functionChecks.clear();
    else this.functionChecks.invalidateFiles(this.changedFiles, valid, ctx.flows);
    this.changedFiles = new Set();
    // The valid positions and the per-function cache's invalidation: not any one check's work.
    phase('positions');
    const enabled = (code: Finding['code']): boolean => isEnabled(code, this.opts.codes);
    for (const check of CHECKS) {
      const r = runChecks(ctx, enabled, [check], (c) => this.functionChecks.run(c, ctx));
      raw.push(...r.findings);
      this.problems.push(...r.errors);
      phase(`check:${check.codes.join(',')}`);
    }
    const bySuppression = new Map<string, FileFacts>();
    for (const [p, e] of this.files) bySuppression.set(p, e.facts);
    for (const e of this.files.values()) bySuppression.set(e.facts.file, e.facts);
    const findings = applyPolicy(raw, this.opts.codes, (file) => bySuppression.get(file)?.suppressions);

    const byFile = new Map<string, Finding[]>();
    for (const p of this.files.keys()) byFile.set(p, []);
    const pathOfFactsFile = new Map<string, string>();
    for (const [p, e] of this.files) pathOfFactsFile.set(e.facts.file, p);
    for (const f of findings) {
      const p = this.files.has(f.file) ? f.file : pathOfFactsFile.get(f.file) ?? f.file;
      let list = byFile.get(p);
      if (!list) byFile.set(p, (list = []));
      list.push(f);
    }
    for (const list of byFile.values()) list.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.column - b.range.start.column);

    let functions = 0;
    let lockEvents = 0;
    for (const f of facts) {
      functions += f.functions.length;
      lockEvents += lockEventsOf(f);
    }
    this.changed = false;
    phase('report');
    this.last = {
      findings: byFile,
      stats: { files: this.files.size, functions, lockEvents, ms: performance.now() - t0, phases, recomputed: solved.recomputed },
    };
    return this.last;
  }

  /** The current flows (chosen and others) of functions in `files`. */
  private flowsOfFiles(files: ReadonlySet<string>): FunctionFlow[] {
    const s = this.solver;
    if (!s || files.size === 0) return [];
    const out: FunctionFlow[] = [];
    for (const f of s.flows.values()) if (files.has(f.fn.file)) out.push(f);
    for (const f of s.extraFlows.values()) if (files.has(f.fn.file)) out.push(f);
    return out;
  }

  /** Which positions of the changed files are still valid (those of functions whose flow the solve kept). */
  private validPositions(before: readonly FunctionFlow[]): ValidPositions {
    const valid = new ValidPositions();
    for (const f of this.changedFiles) valid.addFile(f);
    const s = this.solver!;
    for (const prev of before) {
      const cur = s.flows.get(prev.fn.name);
      if (cur && valid.addFunction(prev, cur)) continue;
      const extra = s.extraFlows.get(prev.fn);
      if (extra) valid.addFunction(prev, extra);
    }
    return valid;
  }

  /** The flow of the function that `fn` is (chosen definition or another one). */
  private flowOf(fn: FunctionFacts): FunctionFlow | undefined {
    const s = this.solver;
    if (!s) return undefined;
    const f = s.flows.get(fn.name);
    if (f && f.fn === fn) return f;
    return s.extraFlows.get(fn) ?? (f && f.fn.file === fn.file && f.fn.range.start.line === fn.range.start.line ? f : undefined);
  }

  hover(path: string, pos: Pos): HoverInfo | null {
    const entry = this.files.get(path);
    if (!entry?.sf || !this.frontend) return null;
    try {
      if (this.changed || !this.last) this.analyze();
      const found = this.frontend.findAt(entry.sf, pos);
      if (found && found.kind !== 'lock') {
        // SPTE helpers, masks and predicates show the reference model's contract.
        const text = spteHelperHover(found.name);
        if (text) return { contents: text, range: found.range };
      }
      const fn = this.frontend.functionAt(entry.sf, pos);
      const flow = fn ? this.flowOf(fn) : undefined;
      if (!found || found.kind !== 'lock') {
        // Anywhere else in a function: the locks held there.
        const text = flow ? heldHover({ names: this.names! }, flow, pos) : null;
        const range = found?.range ?? { start: pos, end: pos };
        return text ? { contents: text, range } : null;
      }
      const contents = lockHover(
        { rules: this.rules, resolver: this.resolver!, names: this.names!, orders: this.orders!, ruleRef: this.ruleRef },
        entry.facts.file,
        found.path,
        flow,
        pos,
      );
      return { contents, range: found.range };
    } catch {
      return null;
    }
  }

  /** The documented and observed lock orders as a graph (the "Show lock order" picture). */
  lockGraph(): LockGraph {
    if (this.changed || !this.last) this.analyze();
    const ctx = this.lastCtx!;
    const nodes = new Map<string, LockGraphNode>();
    const node = (cls: string, documented: boolean): void => {
      const cur = nodes.get(cls);
      if (cur) {
        cur.documented ||= documented;
        return;
      }
      nodes.set(cls, { id: cls, label: ctx.display(cls), documented, kind: ctx.resolver.kindOfClass(cls) });
    };
    const edges: LockGraphEdge[] = [];
    for (const l of this.rules.locks) {
      const cls = ctx.names.classOf.get(l.name);
      if (cls) node(cls, true);
    }
    for (const o of this.rules.orders) {
      const a = ctx.names.classOf.get(o.outer);
      const b = ctx.names.classOf.get(o.inner);
      if (!a || !b || a === b) continue;
      node(a, true);
      node(b, true);
      edges.push({ from: a, to: b, kind: 'documented', ruleRef: this.ruleRef(o.line) });
    }
    const observed = observedEdges(ctx.flows, ctx.resolver, ctx.summaryOf);
    for (const [from, m] of observed) {
      for (const [to, e] of m) {
        node(from, false);
        node(to, false);
        const violation = !!ctx.orders.says(e.file, to, from);
        const chain = [
          { file: e.held.file, range: e.held.range, message: `${ctx.display(from)} held here` },
          ...expandChainRelated(ctx, e),
        ];
        edges.push({ from, to, kind: violation ? 'violation' : 'observed', witness: chain });
      }
    }
    return { rulesSource: this.rules.source, nodes: [...nodes.values()], edges };
  }
}

function expandChainRelated(ctx: CheckContext, e: ObservedEdge): RelatedLocation[] {
  return chainToRelated(ctx, expandChain(e.taken.witness, 'takes', ctx.summaryOf));
}

export async function createWorkspace(opts: WorkspaceOptions & { frontend?: FrontendPort | null }): Promise<WorkspaceImpl> {
  const frontend = opts.frontend === null ? undefined : opts.frontend ?? defaultFrontend();
  if (frontend) await frontend.init();
  return new WorkspaceImpl(opts, frontend);
}
