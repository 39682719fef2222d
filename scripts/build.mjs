// Bundles the extension client, the language server, the command line, its front-end worker and
// (when present) the benchmark into dist/, and copies the two tree-sitter .wasm files next to
// them: the bundled front end looks for them next to __dirname first.
import { build } from 'esbuild';
import { copyFileSync, cpSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const minify = process.argv.includes('--minify');

const entries = [
  { in: 'client/extension.ts', out: 'client.js', external: ['vscode'] },
  { in: 'server/lsp/main.ts', out: 'server.js' },
  { in: 'server/cli/main.ts', out: 'cli.js' },
  { in: 'server/cli/worker.ts', out: 'worker.js' },
  { in: 'scripts/bench.ts', out: 'bench.js', optional: true },
];

const wasm = [
  'node_modules/web-tree-sitter/tree-sitter.wasm',
  'node_modules/tree-sitter-c/tree-sitter-c.wasm',
];

async function main() {
  const started = Date.now();
  mkdirSync(dist, { recursive: true });
  const jobs = entries
    .filter((e) => !e.optional || existsSync(join(root, e.in)))
    .map((e) =>
      build({
        absWorkingDir: root,
        entryPoints: [e.in],
        outfile: join('dist', e.out),
        bundle: true,
        platform: 'node',
        format: 'cjs',
        target: 'node20',
        sourcemap: true,
        minify,
        external: e.external ?? [],
        logLevel: 'warning',
        // `import` would pick web-tree-sitter's ES module build, which finds its files through
        // import.meta.url, empty in a CommonJS bundle; its CommonJS build uses __dirname.
        alias: { 'web-tree-sitter': './node_modules/web-tree-sitter/tree-sitter.cjs' },
      }),
    );
  await Promise.all(jobs);
  // The webviews (race demo, lock order) load their scripts and styles from dist/webview/.
  const webview = join(root, 'client', 'webview');
  if (existsSync(webview)) cpSync(webview, join(dist, 'webview'), { recursive: true });
  for (const file of wasm) {
    const from = join(root, file);
    if (!existsSync(from)) throw new Error(`missing ${file}: run npm install`);
    copyFileSync(from, join(dist, file.split('/').pop()));
  }
  console.log(`built ${jobs.length} bundles into dist/ in ${Date.now() - started} ms`);
}

main().catch((err) => {
  console.error(`build failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
