/** The extension manifest against the code: settings, commands and packaging a user relies on. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RULES } from '../../server/checks/registry';

const REPO = path.resolve(__dirname, '../..');
const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
const props = pkg.contributes.configuration.properties;

describe('extension manifest', () => {
  it('offers a setting for each of the twelve rule codes, with the registry default severity', () => {
    const codes = props['kvmLocklint.codes'].properties;
    expect(Object.keys(codes).sort()).toEqual(RULES.map((r) => r.code).sort());
    for (const r of RULES) {
      expect(codes[r.code].properties.severity.enum).toEqual(['error', 'warning', 'information']);
      // Out of date? `npm run sync-manifest` regenerates the schema from the registry.
      expect(codes[r.code].description).toBe(`${r.description} (default severity: ${r.defaultSeverity})`);
    }
  });

  it('declares every command the client registers, and the settings the server reads', () => {
    const client = fs.readFileSync(path.join(REPO, 'client/extension.ts'), 'utf8');
    const registered = [...client.matchAll(/registerCommand\('([\w.]+)'/g)].map((m) => m[1]);
    const declared = pkg.contributes.commands.map((c: { command: string }) => c.command);
    expect(declared).toEqual(expect.arrayContaining(registered));
    expect(Object.keys(props)).toEqual(
      expect.arrayContaining(['kvmLocklint.rulesFile', 'kvmLocklint.codes', 'kvmLocklint.maxFileSizeKB', 'kvmLocklint.trace.server']),
    );
  });

  it('activates on C, needs VS Code 1.90, and limits itself in untrusted workspaces', () => {
    expect(pkg.activationEvents).toContain('onLanguage:c');
    expect(pkg.engines.vscode).toBe('^1.90.0');
    expect(pkg.capabilities.untrustedWorkspaces.supported).toBe('limited');
    expect(pkg.main).toBe('./dist/client.js');
  });

  it('ships the bundles and both wasm files, not sources or node_modules', () => {
    const ignore = fs.readFileSync(path.join(REPO, '.vscodeignore'), 'utf8').split('\n');
    expect(ignore).toContain('**');
    for (const keep of ['!dist/client.js', '!dist/server.js', '!dist/worker.js', '!dist/*.wasm', '!package.json', '!LICENSE']) {
      expect(ignore).toContain(keep);
    }
    expect(ignore.some((l) => /^!(node_modules|server|client\/extension|model)/.test(l))).toBe(false);
  });
});
