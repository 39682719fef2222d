/**
 * A pool of worker threads running the C front end (dist/worker.js), so that parsing, the
 * expensive part of a cold run, uses every core.
 *
 * - Each worker has up to `DEPTH` files in flight, so it never waits for the main thread's
 *   round trip. A worker handles its files strictly in the order sent, so when it dies the
 *   oldest file it has not answered is the one that killed it: that file is reported, the
 *   others go back to the queue, and the worker is replaced.
 * - The calling thread can take files from the same queue (`local`) while it would otherwise
 *   only wait: with N threads of work wanted, N - 1 workers plus this thread do the same work
 *   with one wasm instance less and no copying of the facts of the files parsed here.
 * - Facts cross the thread boundary as JSON text: JSON.stringify + JSON.parse cost about half
 *   of what the structured clone of the same objects costs (measured on x86+virt KVM).
 * - With `flat`, workers only parse and send the flattened tree (flatTree.ts, transferred without
 *   a copy) with the text; the caller extracts. The command line does that: its main thread's
 *   extraction code is warm, a worker's is not.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FileFacts } from '../frontend/facts';
import type { FlatTree } from '../frontend/flatTree';
import type { WorkerReply, WorkerRequest } from './workerProtocol';

export interface ExtractResult {
  file: string;
  facts?: FileFacts;
  /** From a pool made with `flat`: the flattened parse and the text, to extract on this thread. */
  flat?: FlatTree;
  text?: string;
  skipped?: string;
  error?: string;
}

/** The worker bundle next to this bundle, or null when running from the sources. */
export function workerScript(): string | null {
  const script = path.join(__dirname, 'worker.js');
  return fs.existsSync(script) ? script : null;
}

const MAX_RESPAWNS = 4;
/** Files in flight per worker: enough to keep it busy while this thread parses a big file itself. */
const DEPTH = 4;

interface Job {
  id: number;
  file: string;
}

interface Slot {
  worker: Worker;
  /** Sent and not answered yet, oldest first. */
  jobs: Job[];
}

export interface RunOptions {
  /**
   * Extracts one file in the calling thread (synchronously). When given, the calling thread
   * takes files from the queue too, yielding to the event loop between files so that the
   * workers' answers are received and their queues refilled.
   */
  local?: (file: string) => ExtractResult;
}

export class FrontendPool {
  private readonly slots: Slot[] = [];
  private respawns = 0;
  private nextId = 1;
  private queue: string[] = [];
  private onResult: (r: ExtractResult) => void = () => {};
  private pending = 0;
  private finish: (() => void) | undefined;
  private done: Promise<void> | undefined;
  /** Results that arrived between `start` and `run`. */
  private early: ExtractResult[] = [];

  /** Starts the workers at once (they load the parser while the caller prepares the files). */
  constructor(
    private readonly script: string,
    size: number,
    private readonly maxBytes?: number,
    /** Workers answer with flattened parses (`ExtractResult.flat`) instead of facts. */
    private readonly flat = false,
  ) {
    for (let i = 0; i < Math.max(0, size); i++) this.slots.push({ worker: this.spawn(), jobs: [] });
  }

  get size(): number {
    return this.slots.length;
  }

  /**
   * Starts the workers on `files` before the caller is ready for the results (they are kept
   * until `run` is called): the workers need nothing the caller prepares meanwhile (rules,
   * workspaces). Ignored when already started.
   */
  start(files: string[]): void {
    if (this.done) return;
    this.queue = [...files];
    this.pending = files.length;
    const early: ExtractResult[] = [];
    this.early = early;
    this.onResult = (r) => early.push(r);
    this.done = new Promise<void>((resolve) => (this.finish = resolve));
    if (this.pending === 0) this.finish?.();
    for (const slot of this.slots) this.fill(slot);
  }

  /**
   * Extracts every file (those given to `start`, when it was called); results arrive through
   * `onResult` in completion order (the ones that arrived before, at once).
   */
  async run(files: string[], onResult: (r: ExtractResult) => void, opts: RunOptions = {}): Promise<void> {
    this.start(files);
    const done = this.done!;
    for (const r of this.early.splice(0)) onResult(r);
    this.onResult = onResult;
    if (opts.local || this.slots.length === 0) {
      const local = opts.local ?? ((file: string) => ({ file, error: 'no front end worker available' }));
      while (this.queue.length > 0) {
        // The smallest file left (the workers take the largest): this thread has other work
        // too (a flat pool's results to extract), and must not end on a big file.
        const file = this.queue.pop()!;
        let result: ExtractResult;
        try {
          result = local(file);
        } catch (err) {
          result = { file, error: `front end failed: ${err instanceof Error ? err.message : String(err)}` };
        }
        this.deliver(result);
        if (this.slots.length > 0) await yieldToEventLoop();
      }
    }
    await done;
    if (this.done === done) this.done = undefined; // the pool may run again
  }

  /** Stops early: files not yet extracted are dropped and run() resolves. */
  async cancel(): Promise<void> {
    this.queue = [];
    this.onResult = () => {};
    this.pending = 0;
    this.finish?.();
    this.done = undefined;
    await this.close();
  }

  async close(): Promise<void> {
    const workers = this.slots.splice(0).map((s) => s.worker);
    await Promise.all(workers.map((w) => w.terminate().catch(() => 0)));
  }

  private spawn(): Worker {
    const worker = new Worker(this.script);
    worker.on('message', (reply: WorkerReply) => this.received(worker, reply));
    worker.on('error', (err) => this.lost(worker, `front end worker crashed: ${err.message}`));
    worker.on('exit', (code) => this.lost(worker, `front end worker exited (${code})`));
    // Idle workers must not keep the process alive.
    worker.unref();
    return worker;
  }

  /** Sends files until the worker has DEPTH in flight. */
  private fill(slot: Slot): void {
    while (slot.jobs.length < DEPTH && this.queue.length > 0) {
      const job = { id: this.nextId++, file: this.queue.shift()! };
      slot.jobs.push(job);
      const req: WorkerRequest = { id: job.id, file: job.file, maxBytes: this.maxBytes, flat: this.flat || undefined };
      slot.worker.postMessage(req);
    }
    if (slot.jobs.length > 0) slot.worker.ref();
  }

  private received(worker: Worker, reply: WorkerReply): void {
    const slot = this.slots.find((s) => s.worker === worker);
    if (!slot) return;
    const index = slot.jobs.findIndex((j) => j.id === reply.id);
    if (index < 0) return;
    const [{ file }] = slot.jobs.splice(index, 1);
    if (slot.jobs.length === 0) worker.unref();
    this.fill(slot);
    let facts = reply.facts;
    let error = reply.error;
    if (reply.json !== undefined) {
      try {
        facts = JSON.parse(reply.json) as FileFacts;
      } catch (err) {
        error = `front end failed: unreadable facts (${err instanceof Error ? err.message : String(err)})`;
      }
    }
    this.deliver({ file, facts, flat: reply.flat, text: reply.text, skipped: reply.skipped, error });
  }

  private lost(worker: Worker, why: string): void {
    const index = this.slots.findIndex((s) => s.worker === worker);
    if (index < 0) return; // closed on purpose, or already handled
    const [slot] = this.slots.splice(index, 1);
    // The worker handles its files in order: the oldest unanswered one was running.
    const [culprit, ...innocent] = slot.jobs;
    this.queue.unshift(...innocent.map((j) => j.file));
    if (culprit) this.deliver({ file: culprit.file, error: why });
    if (this.respawns < MAX_RESPAWNS) {
      this.respawns++;
      const fresh: Slot = { worker: this.spawn(), jobs: [] };
      this.slots.push(fresh);
      this.fill(fresh);
    }
    for (const other of this.slots) this.fill(other);
    if (this.slots.length === 0 && this.respawns >= MAX_RESPAWNS) {
      // Nothing left to run the queue: report what remains rather than wait forever.
      for (const file of this.queue.splice(0)) this.deliver({ file, error: why });
    }
  }

  private deliver(result: ExtractResult): void {
    if (this.pending <= 0) return; // cancelled
    try {
      this.onResult(result);
    } finally {
      if (--this.pending === 0) this.finish?.();
    }
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The files, largest first: the big files start early and the small ones fill the gaps at the
 * end, so the threads finish together. Unreadable files keep their place at the end (the
 * front end reports them).
 */
export function largestFirst(files: string[]): string[] {
  const sized = files.map((file, i) => {
    let size = -1;
    try {
      size = fs.statSync(file).size;
    } catch {
      /* reported when read */
    }
    return { file, size, i };
  });
  sized.sort((a, b) => b.size - a.size || a.i - b.i);
  return sized.map((s) => s.file);
}
