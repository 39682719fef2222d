/**
 * Measures the C front end on a real KVM tree: parse-only time vs parse + extract, counts, and
 * the incremental update time for an edit in the middle of a big file.
 *
 *   npx vite-node scripts/measure-frontend.ts [KERNEL_DIR]      (default ../kernel)
 */
import fs from 'node:fs';
import path from 'node:path';
import { getParser } from '../server/frontend/parser';
import { initFrontend, parseAndExtract, SourceFile } from '../server/frontend/index';
import { extractFacts } from '../server/frontend/extract';

function collect(dir: string, out: string[]): void {
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) collect(p, out);
    else if (/\.[ch]$/.test(e.name) && !e.name.endsWith('.mod.c')) out.push(p);
  }
}

async function main(): Promise<void> {
  const root = path.resolve(process.argv[2] ?? path.join(__dirname, '../../kernel'));
  const files: string[] = [];
  collect(path.join(root, 'arch/x86/kvm'), files);
  collect(path.join(root, 'virt/kvm'), files);
  if (files.length === 0) {
    console.log(`no KVM sources under ${root}`);
    return;
  }
  const texts = files.map((f) => fs.readFileSync(f, 'utf8'));
  const lines = texts.reduce((n, t) => n + t.split('\n').length, 0);
  await initFrontend();
  const parser = getParser();
  // Warm up (JIT, wasm).
  for (const t of texts.slice(0, 10)) parser.parse(t)?.delete();

  const rounds = 3;
  let best = { parse: Infinity, extract: Infinity, total: Infinity };
  let counts = { functions: 0, acquire: 0, release: 0, calls: 0, unresolved: 0, spte: 0, skipped: 0, errors: 0 };
  for (let r = 0; r < rounds; r++) {
    let parseMs = 0;
    let extractMs = 0;
    const c = { functions: 0, acquire: 0, release: 0, calls: 0, unresolved: 0, spte: 0, skipped: 0, errors: 0 };
    for (let i = 0; i < files.length; i++) {
      const t0 = performance.now();
      const tree = parser.parse(texts[i])!;
      const t1 = performance.now();
      const facts = extractFacts(files[i], texts[i], tree);
      const t2 = performance.now();
      tree.delete();
      parseMs += t1 - t0;
      extractMs += t2 - t1;
      if (facts.skipped) c.skipped++;
      c.errors += facts.errorCount;
      c.functions += facts.functions.length;
      for (const f of facts.functions)
        for (const b of f.blocks)
          for (const o of b.ops) {
            if (o.k === 'acquire') c.acquire++;
            else if (o.k === 'release') c.release++;
            else if (o.k === 'call') c.calls++;
            else if (o.k === 'spte') c.spte++;
            if ((o.k === 'acquire' || o.k === 'release' || o.k === 'dropRetake' || o.k === 'assert') && o.lock.base.kind === 'unknown') c.unresolved++;
          }
    }
    if (parseMs + extractMs < best.total) best = { parse: parseMs, extract: extractMs, total: parseMs + extractMs };
    counts = c;
  }
  // The public one-shot API (exception guard included) on every file.
  let failures = 0;
  for (let i = 0; i < files.length; i++) if (parseAndExtract(files[i], texts[i]).skipped) failures++;

  console.log(`files ${files.length}, lines ${lines}`);
  console.log(`parse-only ${best.parse.toFixed(0)} ms, extraction ${best.extract.toFixed(0)} ms (+${((100 * best.extract) / best.parse).toFixed(0)}%), total ${best.total.toFixed(0)} ms (best of ${rounds})`);
  console.log(`functions ${counts.functions}, acquire ops ${counts.acquire}, release ops ${counts.release}, calls ${counts.calls}, spte ops ${counts.spte}, unresolved lock paths ${counts.unresolved}, ERROR nodes seen ${counts.errors}, skipped ${failures}`);

  const big = files.find((f) => f.endsWith('mmu/mmu.c'));
  if (big) {
    const text = fs.readFileSync(big, 'utf8');
    const sf = new SourceFile(big, text);
    const lineArr = text.split('\n');
    const mid = Math.floor(lineArr.length / 2);
    let line = mid;
    while (line < lineArr.length && !/^\t\S/.test(lineArr[line])) line++;
    const times: number[] = [];
    let cur = text;
    for (let k = 0; k < 5; k++) {
      const insert = `\tfoo_${k}();\n`;
      const offset = cur.split('\n').slice(0, line).join('\n').length + 1;
      const next = cur.slice(0, offset) + insert + cur.slice(offset);
      const t0 = performance.now();
      sf.update(next, [{ range: { start: { line, column: 0 }, end: { line, column: 0 } }, text: insert }]);
      times.push(performance.now() - t0);
      cur = next;
    }
    const t0 = performance.now();
    const full = new SourceFile(big, cur);
    const fullMs = performance.now() - t0;
    const same = JSON.stringify(full.facts.functions) === JSON.stringify(sf.facts.functions);
    console.log(`incremental update of ${path.basename(big)} (${lineArr.length} lines), edit at line ${line + 1}: ${times.map((t) => t.toFixed(1)).join(', ')} ms; full reparse+extract ${fullMs.toFixed(1)} ms; incremental facts identical to full: ${same}`);
    sf.dispose();
    full.dispose();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
