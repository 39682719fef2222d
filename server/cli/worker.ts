/**
 * Worker thread of the command line (dist/worker.js): runs the C front end on the files it is
 * sent, strictly in the order received, and hands back their FileFacts as JSON text. It reads
 * the files itself, so only paths and facts cross the thread boundary.
 */
import { parentPort } from 'node:worker_threads';
import { initFrontend, parseAndExtract, parseToFlat } from '../frontend';
import { readSource } from './files';
import type { WorkerReply, WorkerRequest } from './workerProtocol';

const port = parentPort;
if (port) {
  // Loading the parser starts before the first request arrives.
  const ready = Promise.resolve(initFrontend());
  port.on('message', (req: WorkerRequest) => {
    ready
      .then(() => handle(req))
      .catch((err: unknown) => ({ id: req.id, error: `front end failed: ${describe(err)}` }) as WorkerReply)
      .then((reply) => port.postMessage(reply, reply.flat ? [reply.flat.nodes.buffer as ArrayBuffer] : []));
  });
}

function handle(req: WorkerRequest): WorkerReply {
  const read = req.text !== undefined ? { ok: true as const, text: req.text } : readSource(req.file, req.maxBytes);
  if (!read.ok) return { id: req.id, skipped: read.reason };
  try {
    if (req.flat) {
      const r = parseToFlat(req.file, read.text);
      return 'flat' in r ? { id: req.id, flat: r.flat, text: read.text } : { id: req.id, json: JSON.stringify(r.facts) };
    }
    return { id: req.id, json: JSON.stringify(parseAndExtract(req.file, read.text)) };
  } catch (err) {
    return { id: req.id, error: `front end failed: ${describe(err)}` };
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
