/**
 * One rules group's files as build configurations (see configurations.ts): while the files span
 * at most one architecture this is a single Workspace, exactly as before; from the second
 * architecture on, each architecture gets a Workspace of its own holding its files plus every
 * generic file. Generic facts are computed once and handed to every configuration (`setFacts`);
 * an open generic document is parsed by the first configuration (which answers its hovers) and,
 * once more, by one shared syntax tree whose facts go to the other configurations.
 *
 * Call `prepare(file)` (async: it may create a Workspace) before `setFile`/`setFacts` of a file
 * whose architecture may be new.
 */
import type { Finding } from '../checks/finding';
import type { FileFacts, Pos } from '../frontend/facts';
import type { AnalysisResult, HoverInfo, TextChange, Workspace, WorkspaceOptions } from './api';
import { GENERIC, archOf, mergeConfigurationFindings } from './configurations';
import type { SourceFileLike } from './frontendPort';
import type { LockGraph } from './lockGraphTypes';

export interface ArchWorkspacesOptions extends WorkspaceOptions {
  create: (opts: WorkspaceOptions) => Promise<Workspace>;
  /** The kernel tree's root, for `archOf` (paths outside it are judged as a whole). */
  root?: string | null;
  /** Opens the shared syntax tree of an open generic document (needed only with setFile). */
  open?: (file: string, text: string) => SourceFileLike;
}

interface Configuration {
  /** GENERIC until the first architecture file arrives (a single configuration then). */
  arch: string;
  ws: Workspace;
}

interface OpenGeneric {
  text: string;
  /** The shared tree whose facts feed configurations 2..N; made when there are several. */
  sf?: SourceFileLike;
}

const lockEventCache = new WeakMap<FileFacts, number>();

/** Lock operations of a file, counted as the Workspace counts them (calls and assignments excluded). */
function lockEventsOf(f: FileFacts): number {
  let n = lockEventCache.get(f);
  if (n === undefined) {
    n = 0;
    if (!f.skipped) for (const fn of f.functions) for (const b of fn.blocks) for (const op of b.ops) if (op.k !== 'call' && op.k !== 'assign') n++;
    lockEventCache.set(f, n);
  }
  return n;
}

export class ArchWorkspaces implements Workspace {
  readonly rules: WorkspaceOptions['rules'];
  private readonly configs: Configuration[];
  private readonly genericFacts = new Map<string, FileFacts>();
  private readonly genericOpen = new Map<string, OpenGeneric>();
  private pending = new Map<string, Promise<void>>();
  private focusArch: string = GENERIC;

  private constructor(
    private readonly opts: ArchWorkspacesOptions,
    first: Workspace,
  ) {
    this.rules = opts.rules;
    this.configs = [{ arch: GENERIC, ws: first }];
  }

  static async create(opts: ArchWorkspacesOptions): Promise<ArchWorkspaces> {
    return new ArchWorkspaces(opts, await opts.create({ rules: opts.rules, codes: opts.codes, oneShot: opts.oneShot }));
  }

  archOf(file: string): string {
    return archOf(file, this.opts.root);
  }

  /** The architectures present (empty while only generic files are known). */
  get architectures(): string[] {
    return this.configs.map((c) => c.arch).filter((a) => a !== GENERIC);
  }

  /** The Workspaces, first configuration first (tests, diagnostics). */
  get workspaces(): Workspace[] {
    return this.configs.map((c) => c.ws);
  }

  /** Creates `file`'s configuration when its architecture is new. */
  async prepare(file: string): Promise<void> {
    const arch = this.archOf(file);
    if (arch === GENERIC || this.find(arch)) return;
    if (this.adopt(arch)) return;
    let making = this.pending.get(arch);
    if (!making) {
      making = this.split(arch).finally(() => this.pending.delete(arch));
      this.pending.set(arch, making);
    }
    await making;
  }

  private async split(arch: string): Promise<void> {
    const ws = await this.opts.create({ rules: this.opts.rules, codes: this.opts.codes, oneShot: this.opts.oneShot });
    if (this.find(arch)) return;
    for (const [file, facts] of this.genericFacts) ws.setFacts(file, facts);
    for (const [file, open] of this.genericOpen) ws.setFacts(file, this.sharedTree(file, open).facts);
    this.configs.push({ arch, ws });
  }

  private find(arch: string): Configuration | undefined {
    return this.configs.find((c) => c.arch === arch);
  }

  /** The single configuration of generic files only becomes the first architecture's. */
  private adopt(arch: string): boolean {
    if (this.configs.length !== 1 || this.configs[0].arch !== GENERIC) return false;
    this.configs[0].arch = arch;
    return true;
  }

  private configOf(file: string): Configuration {
    const arch = this.archOf(file);
    if (arch === GENERIC) return this.configs[0];
    const c = this.find(arch) ?? (this.adopt(arch) ? this.configs[0] : undefined);
    if (!c) throw new Error(`kvm-locklint: no configuration for arch/${arch} yet (prepare ${file} first)`);
    return c;
  }

  private sharedTree(file: string, open: OpenGeneric): SourceFileLike {
    if (!open.sf) {
      if (!this.opts.open) throw new Error('kvm-locklint: no C front end for a generic document in several configurations');
      open.sf = this.opts.open(file, open.text);
    }
    return open.sf;
  }

  setFile(path: string, text: string, changes?: TextChange[]): void {
    const config = this.configOf(path);
    if (this.archOf(path) !== GENERIC) {
      config.ws.setFile(path, text, changes);
      return;
    }
    this.genericFacts.delete(path);
    config.ws.setFile(path, text, changes);
    let open = this.genericOpen.get(path);
    if (!open) this.genericOpen.set(path, (open = { text }));
    if (this.configs.length > 1) {
      if (open.sf && open.sf.text !== text) open.sf.update(text, changes);
      open.text = text;
      const facts = this.sharedTree(path, open).facts;
      for (const c of this.configs.slice(1)) c.ws.setFacts(path, facts);
    } else {
      open.sf?.dispose();
      open.sf = undefined;
      open.text = text;
    }
  }

  setFacts(path: string, facts: FileFacts): void {
    if (this.archOf(path) !== GENERIC) {
      this.configOf(path).ws.setFacts(path, facts);
      return;
    }
    this.dropOpen(path);
    this.genericFacts.set(path, facts);
    for (const c of this.configs) c.ws.setFacts(path, facts);
  }

  removeFile(path: string): void {
    if (this.archOf(path) !== GENERIC) {
      this.find(this.archOf(path))?.ws.removeFile(path);
      return;
    }
    this.dropOpen(path);
    this.genericFacts.delete(path);
    for (const c of this.configs) c.ws.removeFile(path);
  }

  private dropOpen(path: string): void {
    this.genericOpen.get(path)?.sf?.dispose();
    this.genericOpen.delete(path);
  }

  hasFile(path: string): boolean {
    const arch = this.archOf(path);
    const c = arch === GENERIC ? this.configs[0] : this.find(arch);
    return !!c?.ws.hasFile(path);
  }

  analyze(): AnalysisResult {
    if (this.configs.length === 1) return this.configs[0].ws.analyze();
    const results = this.configs.map((c) => ({ arch: c.arch, result: c.ws.analyze() }));
    const findings = mergeConfigurationFindings(
      results.map((r) => ({ arch: r.arch, findings: r.result.findings })),
      (file) => this.archOf(file),
    );
    // Generic files are in every configuration: count them once.
    const extra = results.length - 1;
    let genericFunctions = 0;
    let genericLockEvents = 0;
    let genericFiles = 0;
    const count = (f: FileFacts): void => {
      genericFiles++;
      if (!f.skipped) genericFunctions += f.functions.length;
      genericLockEvents += lockEventsOf(f);
    };
    for (const f of this.genericFacts.values()) count(f);
    for (const [file, open] of this.genericOpen) count(this.sharedTree(file, open).facts);
    const stats = { files: 0, functions: 0, lockEvents: 0, ms: 0, recomputed: 0, phases: {} as Record<string, number> };
    for (const { result } of results) {
      const s = result.stats;
      stats.files += s.files;
      stats.functions += s.functions;
      stats.lockEvents += s.lockEvents;
      stats.ms += s.ms;
      stats.recomputed += s.recomputed ?? 0;
      for (const [k, v] of Object.entries(s.phases ?? {})) stats.phases[k] = (stats.phases[k] ?? 0) + v;
    }
    stats.files -= extra * genericFiles;
    stats.functions -= extra * genericFunctions;
    stats.lockEvents -= extra * genericLockEvents;
    return { findings, stats };
  }

  /** Every configuration's findings of one file (tests; the merged view is analyze()). */
  findingsPerConfiguration(file: string): { arch: string; findings: Finding[] }[] {
    return this.configs.map((c) => ({ arch: c.arch, findings: c.ws.analyze().findings.get(file) ?? [] }));
  }

  /** Hover in the file's own configuration; a generic file's in the first one. */
  hover(path: string, pos: Pos): HoverInfo | null {
    const arch = this.archOf(path);
    const c = arch === GENERIC ? this.configs[0] : this.find(arch);
    return c ? c.ws.hover(path, pos) : null;
  }

  /** The lock graph follows the architecture of the last architecture file focused. */
  focus(file: string): void {
    const arch = this.archOf(file);
    if (arch !== GENERIC) this.focusArch = arch;
  }

  lockGraphOf(): LockGraph | null {
    const c = this.find(this.focusArch) ?? this.configs[0];
    return c.ws.lockGraph?.() ?? null;
  }
}
