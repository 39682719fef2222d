import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FrontendPool, largestFirst, type ExtractResult } from '../../server/cli/frontendPool';

// A stand-in for dist/worker.js speaking the same protocol: answers in order, with the file's
// name as its "facts"; a file whose name contains "crash" kills the worker.
const WORKER = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (req) => {
  if (req.file.includes('crash')) process.exit(3);
  if (req.file.includes('skip')) return parentPort.postMessage({ id: req.id, skipped: 'skipped: binary content' });
  parentPort.postMessage({ id: req.id, json: JSON.stringify({ file: req.file, hash: 'w' }) });
});
`;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'klt-pool-'));
const script = path.join(dir, 'worker.js');
fs.writeFileSync(script, WORKER);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function runPool(files: string[], size: number, local?: (f: string) => ExtractResult): Promise<Map<string, ExtractResult>> {
  const pool = new FrontendPool(script, size);
  const got = new Map<string, ExtractResult>();
  try {
    await pool.run(files, (r) => {
      expect(got.has(r.file)).toBe(false); // every file answered once
      got.set(r.file, r);
    }, local ? { local } : {});
  } finally {
    await pool.close();
  }
  return got;
}

const names = (n: number) => Array.from({ length: n }, (_, i) => `f${i}.c`);

describe('FrontendPool', () => {
  it('extracts every file once with workers only, several files in flight', async () => {
    const files = names(30);
    const got = await runPool(files, 2);
    expect([...got.keys()].sort()).toEqual([...files].sort());
    for (const r of got.values()) expect(r.facts).toEqual({ file: r.file, hash: 'w' });
  });

  it('shares the queue with the calling thread', async () => {
    const files = names(40);
    const got = await runPool(files, 1, (file) => ({ file, facts: { file, hash: 'local' } as never }));
    expect(got.size).toBe(40);
    const hashes = new Set([...got.values()].map((r) => r.facts?.hash));
    expect(hashes).toEqual(new Set(['w', 'local']));
  });

  it('reports the file that killed its worker, and only that one; the rest are extracted', async () => {
    const files = [...names(10), 'crash.c', ...names(10).map((n) => `g${n}`), 'skip.c'];
    for (const local of [undefined, (file: string): ExtractResult => ({ file, facts: { file, hash: 'local' } as never })]) {
      const got = await runPool(files, 2, local);
      expect(got.size).toBe(files.length);
      const failed = [...got.values()].filter((r) => r.error);
      if (local && !failed.length) continue; // the calling thread may have taken crash.c itself
      expect(failed.map((r) => r.file)).toEqual(['crash.c']);
      expect(failed[0].error).toMatch(/worker exited \(3\)/);
      expect(got.get('skip.c')!.facts === undefined || got.get('skip.c')!.facts!.hash === 'local').toBe(true);
      for (const r of got.values()) if (r.file !== 'crash.c' && r.file !== 'skip.c') expect(r.facts).toBeDefined();
    }
  });

  it('start() sets the workers going before run(); results that came meanwhile are handed over by run()', async () => {
    const files = names(12);
    const pool = new FrontendPool(script, 1);
    try {
      pool.start(files);
      await new Promise((r) => setTimeout(r, 300)); // the worker answers with nobody listening yet
      const got: string[] = [];
      await pool.run(files, (r) => got.push(r.file), { local: (file) => ({ file, facts: { file, hash: 'local' } as never }) });
      expect([...got].sort()).toEqual([...files].sort());
      // And it can run again.
      const again: string[] = [];
      await pool.run(['x.c', 'y.c'], (r) => again.push(r.file));
      expect(again.sort()).toEqual(['x.c', 'y.c']);
    } finally {
      await pool.close();
    }
  });

  it('orders files largest first, unreadable ones last', () => {
    const a = path.join(dir, 'a.c');
    const b = path.join(dir, 'b.c');
    fs.writeFileSync(a, 'x');
    fs.writeFileSync(b, 'xxxx');
    expect(largestFirst([path.join(dir, 'missing.c'), a, b])).toEqual([b, a, path.join(dir, 'missing.c')]);
  });
});
