// Regenerates the `kvmLocklint.codes` settings schema in package.json from the rule registry
// (server/checks/registry.ts), so the editor offers exactly the codes, descriptions and default
// severities the analyzer has. `npm run sync-manifest`; test/lsp/manifest.test.ts checks it.
import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = await build({
  absWorkingDir: root,
  entryPoints: ['server/checks/registry.ts'],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  write: false,
  logLevel: 'error',
});
const mod = { exports: {} };
new Function('module', 'exports', 'require', out.outputFiles[0].text)(mod, mod.exports, createRequire(join(root, 'package.json')));
const { RULES } = mod.exports;

const pkgPath = join(root, 'package.json');
const pkg = JSON.parse(readFileSync(pkgPath, 'utf8'));
const codes = pkg.contributes.configuration.properties['kvmLocklint.codes'];
codes.properties = Object.fromEntries(
  RULES.map((r) => [
    r.code,
    {
      type: 'object',
      description: `${r.description} (default severity: ${r.defaultSeverity})`,
      properties: {
        enabled: { type: 'boolean', default: true, description: 'Report this rule.' },
        severity: {
          type: 'string',
          enum: ['error', 'warning', 'information'],
          description: `Severity of its diagnostics (default: ${r.defaultSeverity}).`,
        },
      },
      additionalProperties: false,
    },
  ]),
);
writeFileSync(pkgPath, JSON.stringify(pkg, null, 2) + '\n');
console.log(`package.json: kvmLocklint.codes lists ${RULES.length} rule codes`);
