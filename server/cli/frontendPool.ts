/**
 * A pool of worker threads running the C front end (dist/worker.js), so that parsing, the
 * expensive part of a cold run, uses every core. Each worker has one file in flight, so a file
 * that kills its worker is known and reported, and the worker is replaced.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FileFacts } from '../frontend/facts';
import type { WorkerReply, WorkerRequest } from './workerProtocol';

export interface ExtractResult {
  file: string;
  facts?: FileFacts;
  skipped?: string;
  error?: string;
}

/** The worker bundle next to this bundle, or null when running from the sources. */
export function workerScript(): string | null {
  const script = path.join(__dirname, 'worker.js');
  return fs.existsSync(script) ? script : null;
}

const MAX_RESPAWNS = 4;

interface Slot {
  worker: Worker;
  job?: { id: number; file: string };
}

export class FrontendPool {
  private readonly slots: Slot[] = [];
  private respawns = 0;
  private nextId = 1;
  private queue: string[] = [];
  private onResult: (r: ExtractResult) => void = () => {};
  private pending = 0;
  private finish: (() => void) | undefined;

  constructor(
    private readonly script: string,
    size: number,
    private readonly maxBytes?: number,
  ) {
    for (let i = 0; i < Math.max(1, size); i++) this.slots.push({ worker: this.spawn() });
  }

  /** Extracts every file; results arrive through `onResult` in completion order. */
  run(files: string[], onResult: (r: ExtractResult) => void): Promise<void> {
    this.queue = [...files];
    this.pending = files.length;
    this.onResult = onResult;
    const done = new Promise<void>((resolve) => (this.finish = resolve));
    if (this.pending === 0) this.finish?.();
    for (const slot of this.slots) this.dispatch(slot);
    return done;
  }

  /** Stops early: files not yet extracted are dropped and run() resolves. */
  async cancel(): Promise<void> {
    this.queue = [];
    this.onResult = () => {};
    this.pending = 0;
    this.finish?.();
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

  private dispatch(slot: Slot): void {
    const file = this.queue.shift();
    if (file === undefined) return;
    slot.job = { id: this.nextId++, file };
    const req: WorkerRequest = { id: slot.job.id, file, maxBytes: this.maxBytes };
    slot.worker.ref();
    slot.worker.postMessage(req);
  }

  private received(worker: Worker, reply: WorkerReply): void {
    const slot = this.slots.find((s) => s.worker === worker);
    if (!slot?.job || slot.job.id !== reply.id) return;
    const { file } = slot.job;
    slot.job = undefined;
    worker.unref();
    this.deliver({ file, facts: reply.facts, skipped: reply.skipped, error: reply.error });
    this.dispatch(slot);
  }

  private lost(worker: Worker, why: string): void {
    const index = this.slots.findIndex((s) => s.worker === worker);
    if (index < 0) return; // closed on purpose, or already handled
    const [slot] = this.slots.splice(index, 1);
    if (slot.job) this.deliver({ file: slot.job.file, error: why });
    if (this.respawns < MAX_RESPAWNS) {
      this.respawns++;
      const fresh: Slot = { worker: this.spawn() };
      this.slots.push(fresh);
      this.dispatch(fresh);
    } else if (this.slots.length === 0) {
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
