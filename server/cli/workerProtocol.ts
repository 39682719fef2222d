/** Messages between the front-end worker threads (worker.ts) and their pool (frontendPool.ts). */
import type { FileFacts } from '../frontend/facts';

export interface WorkerRequest {
  id: number;
  /** Absolute path; read by the worker unless `text` is given. */
  file: string;
  text?: string;
  maxBytes?: number;
}

/** Exactly one of facts, skipped (not C: binary, too large, unreadable) or error. */
export interface WorkerReply {
  id: number;
  facts?: FileFacts;
  skipped?: string;
  error?: string;
}
