/**
 * The `check` command without its output: finds the files, picks the rules for each (one
 * Workspace per rules source), runs the front end (worker threads, or in-process), analyzes,
 * and returns every finding with the notes about files that were not analysed.
 */
import * as os from 'node:os';
import type { Finding, RuleCode } from '../checks/finding';
import type { CodeSetting, Workspace, WorkspaceOptions } from '../engine/api';
import { ArchWorkspaces } from '../engine/archWorkspaces';
import { treeRootOfDoc } from '../engine/configurations';
import { RulesResolver, type RulesChoice } from '../engine/rulesDiscovery';
import { extractFromFlat, initFrontend, parseAndExtract } from '../frontend';
import { FrontendPool, largestFirst, workerScript, type ExtractResult } from './frontendPool';
import { DEFAULT_MAX_FILE_BYTES, readSource, walkSources } from './files';

export type CreateWorkspace = (opts: WorkspaceOptions) => Promise<Workspace>;

export interface CheckOptions {
  /** Files or directories, already resolved to absolute paths. */
  paths: string[];
  rulesFile?: string;
  /** Worker threads; 1 = in-process; undefined = one per core. */
  jobs?: number;
  codes?: Partial<Record<RuleCode, CodeSetting>>;
  maxBytes?: number;
  createWorkspace: CreateWorkspace;
}

export interface FileNote {
  file: string;
  message: string;
}

export interface RulesGroup {
  choice: RulesChoice;
  files: string[];
}

export interface CheckReport {
  /** Absolute paths of the files found (analysed or skipped). */
  files: string[];
  groups: RulesGroup[];
  /** Sorted by file, then position. */
  findings: Finding[];
  notes: FileNote[];
  stats: { functions: number; lockEvents: number; ms: number };
}

/** Below this many files, starting worker threads costs more than it saves. */
const MIN_FILES_FOR_WORKERS = 12;

export async function runCheck(opts: CheckOptions): Promise<CheckReport> {
  const started = performance.now();
  const walk = walkSources(opts.paths);
  const notes: FileNote[] = [...walk.notes];
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
  const jobs = opts.jobs ?? Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  const script = workerScript();
  const threads = Math.min(jobs, walk.files.length);
  // The front end starts before the rules are read: the workers and this thread load the
  // parser meanwhile. With N threads wanted, N - 1 workers plus this thread do the parsing.
  const pool = threads > 1 && script && walk.files.length >= MIN_FILES_FOR_WORKERS ? new FrontendPool(script, threads - 1, maxBytes, true) : null;
  // The workers start on the files at once (they queue the requests until their parser is
  // loaded); results wait in the pool until the workspaces are made.
  const order = largestFirst(walk.files);
  pool?.start(order);
  const frontendReady = initFrontend().then(
    () => null,
    (err: unknown) => (err instanceof Error ? err.message : String(err)),
  );

  timing('file walk', started);
  try {
    const resolver = new RulesResolver(opts.rulesFile);
    const groups = new Map<string, RulesGroup>();
    for (const file of walk.files) {
      const choice = resolver.forFile(file);
      let group = groups.get(choice.key);
      if (!group) groups.set(choice.key, (group = { choice, files: [] }));
      group.files.push(file);
    }

    // One configuration per architecture inside a rules group whose files span several
    // (configurations.ts); a single Workspace otherwise, as before.
    const workspaces = new Map<string, ArchWorkspaces>();
    const groupOf = new Map<string, ArchWorkspaces>();
    for (const [key, group] of groups) {
      const ws = await ArchWorkspaces.create({
        rules: group.choice.model,
        codes: opts.codes,
        create: opts.createWorkspace,
        root: treeRootOfDoc(group.choice.docPath),
        // The command line analyses once: nothing needs recording for a re-check.
        oneShot: true,
      });
      workspaces.set(key, ws);
      for (const file of group.files) {
        await ws.prepare(file);
        groupOf.set(file, ws);
      }
    }

    timing('rules and workspaces', started);
    // For KVM_LOCKLINT_TIMING: how this thread's front-end time splits.
    const busy = { local: 0, localFiles: 0, accept: 0 };
    const initError = await frontendReady;
    const accept = (r: ExtractResult): void => {
      const t0 = performance.now();
      try {
        acceptResult(r);
      } finally {
        busy.accept += performance.now() - t0;
      }
    };
    const acceptResult = (r: ExtractResult): void => {
      // A worker's flattened parse is extracted here, with this thread's front end.
      let facts = r.facts;
      let error = r.error;
      if (!facts && r.flat && r.text !== undefined) {
        if (initError === null) facts = extractFromFlat(r.file, r.text, r.flat);
        else error = `front end failed: ${initError}`;
      }
      if (!facts) {
        notes.push({ file: r.file, message: r.skipped ?? error ?? 'not analysed' });
        return;
      }
      try {
        groupOf.get(r.file)!.setFacts(r.file, facts);
      } catch (err) {
        notes.push({ file: r.file, message: `analysis failed: ${err instanceof Error ? err.message : String(err)}` });
      }
    };
    // The same front end as the workers, in this thread. Facts only: the command line needs
    // neither hovers nor incremental re-parses, so no syntax tree is kept.
    const local = (file: string): ExtractResult => {
      const t0 = performance.now();
      try {
        return localResult(file);
      } finally {
        busy.local += performance.now() - t0;
        busy.localFiles++;
      }
    };
    const localResult = (file: string): ExtractResult => {
      if (initError !== null) return { file, error: `front end failed: ${initError}` };
      try {
        const read = readSource(file, maxBytes);
        if (!read.ok) return { file, skipped: read.reason };
        return { file, facts: parseAndExtract(file, read.text) };
      } catch (err) {
        return { file, error: `front end failed: ${err instanceof Error ? err.message : String(err)}` };
      }
    };
    if (pool) {
      // When this thread cannot parse, the workers do it all.
      await pool.run(order, accept, initError === null ? { local } : {});
      void pool.close(); // the workers are done; no need to wait for their exit
    } else {
      for (const file of walk.files) accept(local(file));
    }

    timing('front end', started);
    if (process.env.KVM_LOCKLINT_TIMING)
      process.stderr.write(
        `kvm-locklint: timing: this thread parsed and extracted ${busy.localFiles} files in ${busy.local.toFixed(0)} ms, extracted the workers' files in ${busy.accept.toFixed(0)} ms\n`,
      );
    const findings: Finding[] = [];
    let functions = 0;
    let lockEvents = 0;
    const phases: Record<string, number> = {};
    for (const ws of workspaces.values()) {
      const result = ws.analyze();
      for (const [k, v] of Object.entries(result.stats.phases ?? {})) phases[k] = (phases[k] ?? 0) + v;
      for (const list of result.findings.values()) findings.push(...list);
      functions += result.stats.functions;
      lockEvents += result.stats.lockEvents;
    }
    timing('analysis', started);
    if (process.env.KVM_LOCKLINT_TIMING) {
      const list = Object.entries(phases).filter(([, v]) => v >= 1);
      process.stderr.write(`kvm-locklint: timing: analysis phases (ms): ${list.map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}\n`);
    }
    findings.sort(compareFindings);
    notes.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
    return {
      files: walk.files,
      groups: [...groups.values()],
      findings,
      notes,
      stats: { functions, lockEvents, ms: Math.round(performance.now() - started) },
    };
  } finally {
    await pool?.close();
  }
}

/** KVM_LOCKLINT_TIMING=1: phase ends on stderr (ms since the process started, and since runCheck). */
function timing(phase: string, started: number): void {
  if (!process.env.KVM_LOCKLINT_TIMING) return;
  const now = performance.now();
  process.stderr.write(`kvm-locklint: timing: ${phase} done at ${now.toFixed(0)} ms (${(now - started).toFixed(0)} ms into the check)\n`);
}

export function compareFindings(a: Finding, b: Finding): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return (
    a.range.start.line - b.range.start.line ||
    a.range.start.column - b.range.start.column ||
    (a.code < b.code ? -1 : a.code > b.code ? 1 : 0)
  );
}
