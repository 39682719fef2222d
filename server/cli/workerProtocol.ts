/** Messages between the front-end worker threads (worker.ts) and their pool (frontendPool.ts). */
import type { FileFacts } from '../frontend/facts';
import type { FlatTree } from '../frontend/flatTree';

export interface WorkerRequest {
  id: number;
  /** Absolute path; read by the worker unless `text` is given. */
  file: string;
  text?: string;
  maxBytes?: number;
  /** Answer with the flattened parse (and the text) instead of the facts: the caller extracts. */
  flat?: boolean;
}

/**
 * Exactly one of facts, json, skipped (not C: binary, too large, unreadable) or error.
 * `json` is the FileFacts as JSON text (cheaper to send than the structured clone of the objects).
 */
export interface WorkerReply {
  id: number;
  facts?: FileFacts;
  json?: string;
  /** With `text`: the flattened parse (its array is transferred, not copied). */
  flat?: FlatTree;
  text?: string;
  skipped?: string;
  error?: string;
}
