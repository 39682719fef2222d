/**
 * The language server: keeps one analyzer Workspace per rules source, indexes the workspace
 * folders' C files in the background, publishes diagnostics for open documents, answers hover
 * and offers "suppress" quick fixes.
 *
 * Every state change runs through one serial queue (`serial`), so the index, the open
 * documents and the analyzer never see interleaved half-updates; indexing is cut into small
 * queued chunks so that edits and hovers get their turn between them.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CodeActionKind,
  DidChangeConfigurationNotification,
  DidChangeWatchedFilesNotification,
  DidChangeWorkspaceFoldersNotification,
  FileChangeType,
  TextDocumentSyncKind,
  type CodeAction,
  type CodeActionParams,
  type Diagnostic,
  type Connection,
  type DidChangeTextDocumentParams,
  type DidChangeWatchedFilesParams,
  type DidCloseTextDocumentParams,
  type DidOpenTextDocumentParams,
  type Hover,
  type HoverParams,
  type InitializeParams,
  type InitializeResult,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { AnalysisResult, TextChange, Workspace, WorkspaceOptions } from '../engine/api';
import { ArchWorkspaces } from '../engine/archWorkspaces';
import { treeRootOfDoc } from '../engine/configurations';
import { defaultFrontend } from '../engine/frontendDefault';
import type { LockGraph } from '../engine/lockGraphTypes';
import { BUILTIN_SOURCE, RulesResolver, type RulesChoice } from '../engine/rulesDiscovery';
import { initFrontend, parseAndExtract } from '../frontend';
import { FrontendPool, workerScript } from '../cli/frontendPool';
import { isCSource, looksBinary, readSource, walkSources } from '../cli/files';
import { RULE_CODES } from '../cli/args';
import { toolVersion } from '../cli/packageInfo';
import { semanticCodeActions } from './codeActions';
import { SOURCE, pathToUri, suppressionEdit, toDiagnostic, uriToPath } from './convert';
import { DEFAULT_SETTINGS, sameSettings, sanitizeSettings, type Settings } from './settings';

export type CreateWorkspace = (opts: WorkspaceOptions) => Promise<Workspace>;

/** Sent whenever the rules in force or the size of the index change. */
export const STATUS_NOTIFICATION = 'kvmLocklint/status';

export interface StatusParams {
  /** `built-in`, or the locking document's path relative to its workspace folder. */
  rulesSource: string;
  /** Absolute path of the document in force, when it is one. */
  rulesPath: string | null;
  fellBack: boolean;
  warnings: string[];
  files: number;
  functions: number;
  indexing: boolean;
  /** Every rules source in use (files of several trees in one window). */
  sources: { rulesSource: string; rulesPath: string | null; files: number; functions: number }[];
}

const DEBOUNCE_MS = 150;
/** Time slice of one indexing chunk before the queue lets other work in. */
const CHUNK_MS = 25;
const MIN_FILES_FOR_WORKERS = 12;

interface Group {
  choice: RulesChoice;
  /** One Workspace, or one per architecture when the group's files span several. */
  ws: ArchWorkspaces;
  files: Set<string>;
  functions: number;
  /** Files changed since the last analyze(). */
  dirty: boolean;
}

interface OpenDoc {
  uri: string;
  path: string;
  doc: TextDocument;
  /** Changes since the analyzer last saw the text; null: hand over the whole text. */
  pending: TextChange[] | null;
  changed: boolean;
  timer?: NodeJS.Timeout;
  /** Why the document is not analysed (binary, too large), when it is not. */
  skipped?: string;
}

export class LocklintServer {
  private folders: string[] = [];
  private settings: Settings = DEFAULT_SETTINGS;
  private resolver = new RulesResolver();
  private groups = new Map<string, Group>();
  private readonly fileGroup = new Map<string, string>();
  private readonly open = new Map<string, OpenDoc>();
  private readonly published = new Map<string, string>();
  private queue: Promise<unknown> = Promise.resolve();
  private generation = 0;
  private indexing = false;
  private statusKey: string | undefined;
  private canConfigure = false;
  private canWatch = false;
  private canRegisterConfig = false;

  constructor(
    private readonly conn: Connection,
    private readonly createWorkspace: CreateWorkspace,
  ) {}

  listen(): void {
    const c = this.conn;
    c.onInitialize((p) => this.initialize(p));
    c.onInitialized(() => this.guard('initialized', () => this.initialized()));
    c.onDidOpenTextDocument((p) => this.guard('didOpen', () => this.didOpen(p)));
    c.onDidChangeTextDocument((p) => this.guard('didChange', () => this.didChange(p)));
    c.onDidCloseTextDocument((p) => this.guard('didClose', () => this.didClose(p)));
    c.onDidChangeConfiguration((p) => this.guard('didChangeConfiguration', () => this.reloadSettings(p?.settings)));
    c.onDidChangeWatchedFiles((p) => this.guard('didChangeWatchedFiles', () => this.watchedFilesChanged(p)));
    c.onHover((p) => this.guardRequest('hover', null, () => this.hover(p)));
    c.onCodeAction((p) => this.guardRequest('codeAction', [], () => this.codeActions(p)));
    // The raw notification: the library's workspace.onDidChangeWorkspaceFolders throws unless
    // the client announced folder support before listen().
    c.onNotification(DidChangeWorkspaceFoldersNotification.type, (p) =>
      this.guard('didChangeWorkspaceFolders', () => {
        const removed = new Set((p.event?.removed ?? []).map((f) => uriToPath(f.uri)));
        const added = (p.event?.added ?? []).map((f) => uriToPath(f.uri)).filter((f) => path.isAbsolute(f));
        this.folders = [...this.folders.filter((f) => !removed.has(f)), ...added];
        this.restart();
      }),
    );
    c.listen();
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  private initialize(p: InitializeParams): InitializeResult {
    try {
      const folders = p.workspaceFolders?.map((f) => f.uri) ?? (p.rootUri ? [p.rootUri] : p.rootPath ? [pathToUri(p.rootPath)] : []);
      this.folders = folders.map(uriToPath).filter((f) => path.isAbsolute(f));
      const caps = p.capabilities ?? {};
      this.canConfigure = !!caps.workspace?.configuration;
      this.canRegisterConfig = !!caps.workspace?.didChangeConfiguration?.dynamicRegistration;
      this.canWatch = !!caps.workspace?.didChangeWatchedFiles?.dynamicRegistration;
      const init = p.initializationOptions as { settings?: unknown; kvmLocklint?: unknown } | undefined;
      if (init && (init.settings || init.kvmLocklint)) this.settings = sanitizeSettings(init.settings ?? init.kvmLocklint);
    } catch (err) {
      this.logError('initialize', err);
    }
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
        hoverProvider: true,
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
        workspace: { workspaceFolders: { supported: true, changeNotifications: true } },
      },
      serverInfo: { name: 'kvm-locklint', version: toolVersion() },
    };
  }

  private async initialized(): Promise<void> {
    // A client that refuses a registration still gets indexing and diagnostics.
    const register = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (err) {
        this.logError(`registering ${what}`, err);
      }
    };
    if (this.canRegisterConfig) {
      await register('configuration', () => this.conn.client.register(DidChangeConfigurationNotification.type, { section: 'kvmLocklint' }));
    }
    if (this.canWatch) {
      await register('file watchers', () =>
        this.conn.client.register(DidChangeWatchedFilesNotification.type, {
          watchers: [{ globPattern: '**/*.{c,h}' }, { globPattern: '**/Documentation/{virt,virtual}/kvm/locking.{rst,txt}' }],
        }),
      );
    }
    await this.fetchSettings();
    this.restart();
  }

  private async fetchSettings(): Promise<boolean> {
    if (!this.canConfigure) return false;
    try {
      const raw: unknown = await this.conn.workspace.getConfiguration({ section: 'kvmLocklint' });
      const next = sanitizeSettings(raw);
      if (sameSettings(next, this.settings)) return false;
      this.settings = next;
      return true;
    } catch (err) {
      this.logError('workspace/configuration', err);
      return false;
    }
  }

  /** Pulls the settings (workspace/configuration), or takes those pushed by clients that cannot be asked. */
  private async reloadSettings(pushed: unknown): Promise<void> {
    if (this.canConfigure) {
      if (await this.fetchSettings()) this.restart();
      return;
    }
    const section = (pushed as { kvmLocklint?: unknown } | null | undefined)?.kvmLocklint;
    if (section === undefined) return;
    const next = sanitizeSettings(section);
    if (sameSettings(next, this.settings)) return;
    this.settings = next;
    this.restart();
  }

  /** Throws everything away and indexes again (settings, folders or a rules document changed). */
  private restart(): void {
    const generation = ++this.generation;
    void this.serial(async () => {
      this.resolver = this.makeResolver();
      // Syntax trees live in wasm memory: give them back before dropping the workspaces.
      for (const g of this.groups.values()) for (const f of g.files) g.ws.removeFile(f);
      this.groups = new Map();
      this.fileGroup.clear();
      for (const od of this.open.values()) {
        od.pending = null;
        od.changed = true;
      }
      await this.flushOpen();
    });
    this.index(generation).catch((err: unknown) => this.logError('indexing', err));
  }

  private makeResolver(): RulesResolver {
    const file = this.settings.rulesFile;
    if (!file) return new RulesResolver();
    const abs = path.isAbsolute(file) ? file : path.resolve(this.folders[0] ?? process.cwd(), file);
    try {
      return new RulesResolver(abs);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      void this.conn.window.showWarningMessage(`KVM Lock Lint: ${why}; using the tree's own locking document instead.`);
      return new RulesResolver();
    }
  }

  // ---- indexing ----------------------------------------------------------------------------

  private async index(generation: number): Promise<void> {
    if (this.folders.length === 0) {
      await this.serial(() => this.sendStatus());
      return;
    }
    this.indexing = true;
    const progress = await this.conn.window.createWorkDoneProgress().catch(() => undefined);
    try {
      progress?.begin('KVM Lock Lint: indexing', 0, 'finding C files', false);
      const started = performance.now();
      const files = walkSources(this.folders).files;
      if (generation !== this.generation) return;
      // Say early which rules the tree is judged by (the status bar shows it while indexing).
      if (files.length) {
        await this.serial(async () => {
          this.statusKey = undefined;
          const first = await this.groupFor(files[0]);
          this.sendStatus(first.choice.key);
        });
      }
      const script = workerScript();
      let done = 0;
      const report = () => {
        const pct = files.length ? Math.floor((done * 100) / files.length) : 100;
        progress?.report(pct, `${done}/${files.length} files`);
      };
      if (script && files.length >= MIN_FILES_FOR_WORKERS) {
        await this.indexWithWorkers(script, files, generation, () => {
          done++;
          if (done % 50 === 0) report();
        });
      } else {
        for (let next = 0; next < files.length && generation === this.generation; ) {
          next = await this.serial(() => this.indexChunk(files, next, generation));
          done = next;
          report();
        }
      }
      if (generation !== this.generation) return;
      progress?.report(100, 'analyzing');
      const parsed = performance.now();
      await this.serial(() => {
        for (const g of this.groups.values()) g.dirty = true;
        this.analyzeAndPublish();
      });
      const functions = [...this.groups.values()].reduce((n, g) => n + g.functions, 0);
      this.conn.console.info(
        `kvm-locklint: indexed ${files.length} files (${functions} functions): front end ${Math.round(parsed - started)} ms, ` +
          `analysis ${Math.round(performance.now() - parsed)} ms`,
      );
    } finally {
      progress?.done();
      if (generation === this.generation) {
        this.indexing = false;
        await this.serial(() => this.sendStatus());
      }
    }
  }

  /** Reads and sets files from `start` until the time slice is used up; returns where it stopped. */
  private async indexChunk(files: string[], start: number, generation: number): Promise<number> {
    if (generation !== this.generation) return files.length;
    const deadline = performance.now() + CHUNK_MS;
    let i = start;
    while (i < files.length && performance.now() < deadline) {
      const file = files[i++];
      if (this.isOpenPath(file)) continue; // the editor's text wins over the disk
      await this.loadFromDisk(file);
    }
    return i;
  }

  /**
   * Hands a closed file's facts to its workspace. Only open documents keep a syntax tree (for
   * hover and incremental parses); the rest of the tree is facts, which is all the analysis needs.
   */
  private async loadFromDisk(file: string): Promise<void> {
    const read = readSource(file, this.maxBytes());
    const group = await this.groupFor(file);
    if (!read.ok) {
      this.dropFile(group, file);
      return;
    }
    await initFrontend();
    this.setFileIn(group, file, () => group.ws.setFacts(file, parseAndExtract(file, read.text)));
  }

  private dropFile(group: Group, file: string): void {
    if (!group.ws.hasFile(file)) return;
    group.ws.removeFile(file);
    group.files.delete(file);
    group.dirty = true;
  }

  private async indexWithWorkers(script: string, files: string[], generation: number, tick: () => void): Promise<void> {
    const pool = new FrontendPool(script, Math.max(1, Math.min(4, os.availableParallelism())), this.maxBytes());
    try {
      const applying: Promise<unknown>[] = [];
      await pool.run(files, (r) => {
        tick();
        if (generation !== this.generation) {
          void pool.cancel(); // settings or folders changed: this index is stale
          return;
        }
        if (!r.facts) return;
        const facts = r.facts;
        applying.push(
          this.serial(async () => {
            if (generation !== this.generation || this.isOpenPath(r.file)) return;
            const group = await this.groupFor(r.file);
            this.setFileIn(group, r.file, () => group.ws.setFacts(r.file, facts));
          }),
        );
      });
      await Promise.all(applying);
    } finally {
      await pool.close();
    }
  }

  private setFileIn(group: Group, file: string, set: () => void): void {
    try {
      set();
      group.files.add(file);
      group.dirty = true;
    } catch (err) {
      this.logError(`indexing ${file}`, err);
    }
  }

  // ---- documents ---------------------------------------------------------------------------

  private didOpen(p: DidOpenTextDocumentParams): void {
    const { uri, languageId, version, text } = p?.textDocument ?? {};
    if (typeof uri !== 'string' || typeof text !== 'string') return;
    const file = uriToPath(uri);
    if (!this.isCDocument(languageId, file)) return;
    const doc = TextDocument.create(uri, languageId, typeof version === 'number' ? version : 0, text);
    this.open.set(uri, { uri, path: file, doc, pending: null, changed: true });
    void this.serial(() => this.flushOpen(uri));
  }

  private didChange(p: DidChangeTextDocumentParams): void {
    const od = this.open.get(p?.textDocument?.uri);
    if (!od || !Array.isArray(p.contentChanges)) return;
    const changes = p.contentChanges.filter((c) => c && typeof c.text === 'string');
    for (const change of changes) {
      if ('range' in change && change.range && od.pending) {
        od.pending.push({
          range: {
            start: { line: change.range.start.line, column: change.range.start.character },
            end: { line: change.range.end.line, column: change.range.end.character },
          },
          text: change.text,
        });
      } else if (!('range' in change && change.range)) {
        od.pending = null;
      }
    }
    // The analyzer's incremental parse wants changes against the text it saw last; if it never
    // saw one (skipped, first open still pending) the whole text goes.
    od.doc = TextDocument.update(od.doc, changes, p.textDocument.version ?? od.doc.version + 1);
    od.changed = true;
    clearTimeout(od.timer);
    od.timer = setTimeout(() => void this.serial(() => this.flushOpen(od.uri)), DEBOUNCE_MS);
  }

  private didClose(p: DidCloseTextDocumentParams): void {
    const uri = p.textDocument?.uri;
    const od = this.open.get(uri);
    if (!od) return;
    clearTimeout(od.timer);
    this.open.delete(uri);
    this.published.delete(uri);
    void this.conn.sendDiagnostics({ uri, diagnostics: [] });
    void this.serial(async () => {
      // Back to the disk's version of the file (or out of the index if it is not in the tree).
      const group = this.groups.get(this.fileGroup.get(od.path) ?? '');
      if (!group) return;
      if (this.inFolders(od.path) && isCSource(od.path)) {
        await this.loadFromDisk(od.path);
      } else {
        this.dropFile(group, od.path);
        this.fileGroup.delete(od.path);
      }
      this.analyzeAndPublish();
    });
  }

  /**
   * Hands the open documents' new text to the analyzer (all changed ones, or just `uri`),
   * analyzes, and publishes what changed.
   */
  private async flushOpen(uri?: string): Promise<void> {
    const docs = uri ? [this.open.get(uri)].filter((d): d is OpenDoc => !!d) : [...this.open.values()];
    for (const od of docs) {
      if (!od.changed) continue;
      clearTimeout(od.timer);
      od.changed = false;
      const text = od.doc.getText();
      const group = await this.groupFor(od.path);
      group.ws.focus(od.path);
      od.skipped = this.skipReason(text);
      if (od.skipped) {
        this.conn.console.info(`${od.path}: not analysed (${od.skipped})`);
        this.dropFile(group, od.path);
        od.pending = null;
        this.publishDoc(od, []);
        continue;
      }
      const changes = od.pending && group.ws.hasFile(od.path) && od.pending.length ? od.pending : undefined;
      od.pending = [];
      try {
        group.ws.setFile(od.path, text, changes);
      } catch (err) {
        this.logError(`analysing ${od.path}`, err);
        // A failed incremental update: retry from the whole text once.
        if (changes) this.setFileIn(group, od.path, () => group.ws.setFile(od.path, text));
      }
      group.files.add(od.path);
      group.dirty = true;
    }
    this.analyzeAndPublish();
    if (uri) {
      const key = this.fileGroup.get(this.open.get(uri)?.path ?? '');
      if (key && key !== this.statusKey) this.sendStatus(key);
    }
  }

  private async watchedFilesChanged(p: DidChangeWatchedFilesParams): Promise<void> {
    const changes = Array.isArray(p.changes) ? p.changes : [];
    if (changes.some((c) => /[\\/]locking\.(rst|txt)$/.test(c.uri ?? ''))) {
      this.restart();
      return;
    }
    await this.serial(async () => {
      for (const change of changes) {
        const file = uriToPath(change.uri);
        if (!isCSource(file) || this.isOpenPath(file) || !this.inFolders(file)) continue;
        if (change.type === FileChangeType.Deleted) this.dropFile(await this.groupFor(file), file);
        else await this.loadFromDisk(file);
      }
      this.analyzeAndPublish();
    });
  }

  // ---- analysis and publishing -------------------------------------------------------------

  private async groupFor(file: string): Promise<Group> {
    const known = this.fileGroup.get(file);
    if (known && this.groups.has(known)) return this.groups.get(known)!;
    let choice: RulesChoice;
    try {
      // Untitled buffers have no place in a tree: they get the override or the built-in rules.
      choice = path.isAbsolute(file) ? this.resolver.forFile(file) : this.resolver.forDirectory(this.folders[0] ?? '/nonexistent');
    } catch (err) {
      this.logError(`rules for ${file}`, err);
      choice = new RulesResolver().forDirectory('/');
    }
    let group = this.groups.get(choice.key);
    if (!group) {
      const frontend = defaultFrontend();
      const ws = await ArchWorkspaces.create({
        rules: choice.model,
        codes: this.settings.codes,
        create: this.createWorkspace,
        root: treeRootOfDoc(choice.docPath),
        open: (f, text) => frontend.open(f, text),
      });
      // Another task may have created it while we waited: keep the first.
      group = this.groups.get(choice.key) ?? { choice, ws, files: new Set(), functions: 0, dirty: false };
      this.groups.set(choice.key, group);
      if (choice.fellBack) {
        this.conn.console.warn(`kvm-locklint: ${choice.warnings.join('; ')}`);
      }
    }
    this.fileGroup.set(file, choice.key);
    // A file of a second architecture splits the group into configurations.
    await group.ws.prepare(file);
    return group;
  }

  private analyzeAndPublish(): void {
    for (const [key, group] of this.groups) {
      if (!group.dirty) continue;
      group.dirty = false;
      let result: AnalysisResult;
      try {
        result = group.ws.analyze();
      } catch (err) {
        this.logError('analyze', err);
        continue;
      }
      group.functions = result.stats.functions;
      this.publish(key, result);
    }
  }

  private publish(key: string, result: AnalysisResult): void {
    for (const od of this.open.values()) {
      if (this.fileGroup.get(od.path) !== key || od.changed) continue;
      this.publishDoc(od, od.skipped ? [] : (result.findings.get(od.path) ?? []).map(toDiagnostic));
    }
  }

  /** Sends a document's diagnostics unless the editor already has exactly these. */
  private publishDoc(od: OpenDoc, diagnostics: Diagnostic[]): void {
    const signature = JSON.stringify(diagnostics);
    if (this.published.get(od.uri) === signature) return;
    this.published.set(od.uri, signature);
    void this.conn.sendDiagnostics({ uri: od.uri, version: od.doc.version, diagnostics });
  }

  private sendStatus(key?: string): void {
    const groups = [...this.groups.values()];
    const label = (g: Group) => this.rulesLabel(g.choice);
    const chosen =
      (key && this.groups.get(key)) ||
      (this.statusKey && this.groups.get(this.statusKey)) ||
      groups.sort((a, b) => b.files.size - a.files.size)[0];
    if (chosen) this.statusKey = chosen.choice.key;
    const status: StatusParams = {
      rulesSource: chosen ? label(chosen) : this.settings.rulesFile ? path.basename(this.settings.rulesFile) : BUILTIN_SOURCE,
      rulesPath: chosen && !chosen.choice.fellBack ? chosen.choice.docPath : null,
      fellBack: chosen?.choice.fellBack ?? false,
      warnings: chosen?.choice.warnings ?? [],
      files: chosen?.files.size ?? 0,
      functions: chosen?.functions ?? 0,
      indexing: this.indexing,
      sources: [...this.groups.values()].map((g) => ({
        rulesSource: label(g),
        rulesPath: g.choice.fellBack ? null : g.choice.docPath,
        files: g.files.size,
        functions: g.functions,
      })),
    };
    void this.conn.sendNotification(STATUS_NOTIFICATION, status);
  }

  private rulesLabel(choice: RulesChoice): string {
    if (!choice.docPath || choice.fellBack) return BUILTIN_SOURCE;
    const folder = this.folders.find((f) => choice.docPath!.startsWith(f + path.sep));
    return folder ? path.relative(folder, choice.docPath) : choice.docPath;
  }

  // ---- requests ----------------------------------------------------------------------------

  /** The lock graph of the rules source in the status bar, when the analyzer can draw one. */
  lockGraph(): LockGraph | null {
    const group = (this.statusKey && this.groups.get(this.statusKey)) || [...this.groups.values()][0];
    return group?.ws.lockGraphOf() ?? null;
  }

  private async hover(p: HoverParams): Promise<Hover | null> {
    const od = this.open.get(p.textDocument?.uri);
    if (!od || !p.position) return null;
    return this.serial(async () => {
      if (od.changed) await this.flushOpen(od.uri);
      if (od.skipped) return null;
      const group = this.groups.get(this.fileGroup.get(od.path) ?? '');
      group?.ws.focus(od.path);
      const info = group?.ws.hover(od.path, { line: p.position.line, column: p.position.character });
      if (!info) return null;
      return {
        contents: { kind: 'markdown', value: info.contents },
        range: {
          start: { line: info.range.start.line, character: info.range.start.column },
          end: { line: info.range.end.line, character: info.range.end.column },
        },
      };
    });
  }

  private codeActions(p: CodeActionParams): CodeAction[] {
    const od = this.open.get(p.textDocument?.uri);
    const diagnostics = Array.isArray(p.context?.diagnostics) ? p.context.diagnostics : [];
    if (!od) return [];
    const actions: CodeAction[] = [];
    const seen = new Set<string>();
    for (const d of diagnostics) {
      if (d?.source !== SOURCE || typeof d.code !== 'string' || !(RULE_CODES as readonly string[]).includes(d.code)) continue;
      const line = d.range?.start?.line;
      if (typeof line !== 'number' || line < 0 || line >= od.doc.lineCount) continue;
      if (seen.has(`${line}:${d.code}`)) continue;
      seen.add(`${line}:${d.code}`);
      const lineText = od.doc.getText({ start: { line, character: 0 }, end: { line: line + 1, character: 0 } }).replace(/\r?\n$/, '');
      const edit = suppressionEdit(lineText, d.code);
      if (!edit.text) continue;
      const at = { line, character: edit.character };
      actions.push({
        title: `Suppress ${d.code} on this line`,
        kind: CodeActionKind.QuickFix,
        diagnostics: [d],
        edit: { changes: { [od.uri]: [{ range: { start: at, end: at }, newText: edit.text }] } },
      });
    }
    actions.push(...semanticCodeActions(od.uri, od.path, od.doc.getText(), diagnostics.filter((d) => d?.source === SOURCE)));
    return actions;
  }

  // ---- helpers -----------------------------------------------------------------------------

  /** Runs `task` after every task queued before it; an error is logged, never propagated. */
  private serial<T>(task: () => T | Promise<T>): Promise<T> {
    const run = this.queue.then(task);
    this.queue = run.catch((err: unknown) => this.logError('task', err));
    return run;
  }

  private guard(name: string, fn: () => unknown): void {
    try {
      const r = fn();
      if (r instanceof Promise) r.catch((err: unknown) => this.logError(name, err));
    } catch (err) {
      this.logError(name, err);
    }
  }

  private async guardRequest<T>(name: string, fallback: T, fn: () => T | Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      this.logError(name, err);
      return fallback;
    }
  }

  private logError(where: string, err: unknown): void {
    const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
    try {
      this.conn.console.error(`kvm-locklint: ${where}: ${text}`);
    } catch {
      // the connection itself is gone; nothing left to tell
    }
  }

  private isCDocument(languageId: string, file: string): boolean {
    return languageId === 'c' || (typeof file === 'string' && isCSource(file) && (languageId === 'cpp' || languageId === 'objective-c'));
  }

  private isOpenPath(file: string): boolean {
    for (const od of this.open.values()) if (od.path === file) return true;
    return false;
  }

  private inFolders(file: string): boolean {
    return this.folders.some((f) => file === f || file.startsWith(f.endsWith(path.sep) ? f : f + path.sep));
  }

  private maxBytes(): number {
    return this.settings.maxFileSizeKB * 1024;
  }

  private skipReason(text: string): string | undefined {
    if (text.length > this.maxBytes()) return `larger than kvmLocklint.maxFileSizeKB (${this.settings.maxFileSizeKB} KB)`;
    if (looksBinary(text)) return 'binary content';
    return undefined;
  }
}
