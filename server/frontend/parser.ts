/**
 * Loads web-tree-sitter and the tree-sitter-c grammar once.
 *
 * Works both from the TypeScript sources (vitest: the wasm files are found in node_modules) and
 * from the esbuild bundle in dist/ (the build copies `tree-sitter.wasm` and `tree-sitter-c.wasm`
 * next to the bundle, so `__dirname` is tried first).
 */
import { Parser, Language } from 'web-tree-sitter';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { registerRawModule } from './fastCursor';

export interface FrontendOptions {
  /** A directory holding `tree-sitter.wasm` and `tree-sitter-c.wasm` (tried first). */
  wasmDir?: string;
}

let ready: Promise<void> | null = null;
let parser: Parser | null = null;
let language: Language | null = null;

function candidateDirs(opts?: FrontendOptions): string[] {
  const dirs: string[] = [];
  if (opts?.wasmDir) dirs.push(opts.wasmDir);
  // In the CommonJS bundle __dirname is the dist/ folder; under ESM/vitest it may be undefined.
  if (typeof __dirname === 'string') dirs.push(__dirname);
  return dirs;
}

function resolvePackageFile(pkgFile: string): string | null {
  const bases: string[] = [];
  if (typeof __filename === 'string') bases.push(__filename);
  bases.push(path.join(process.cwd(), 'package.json'));
  for (const base of bases) {
    try {
      return createRequire(base).resolve(pkgFile);
    } catch {
      /* try the next base */
    }
  }
  return null;
}

function findWasm(fileName: string, pkgFile: string, opts?: FrontendOptions): string {
  for (const dir of candidateDirs(opts)) {
    const p = path.join(dir, fileName);
    if (fs.existsSync(p)) return p;
  }
  const resolved = resolvePackageFile(pkgFile);
  if (resolved && fs.existsSync(resolved)) return resolved;
  // Last resort: node_modules under the current directory.
  const local = path.join(process.cwd(), 'node_modules', pkgFile);
  if (fs.existsSync(local)) return local;
  throw new Error(`kvm-locklint: cannot find ${fileName} (looked next to the bundle and in node_modules)`);
}

/** Where the two wasm files are (for tools that drive web-tree-sitter themselves, e.g. the benchmark). */
export function wasmPaths(opts?: FrontendOptions): { runtime: string; c: string } {
  return {
    runtime: findWasm('tree-sitter.wasm', 'web-tree-sitter/tree-sitter.wasm', opts),
    c: findWasm('tree-sitter-c.wasm', 'tree-sitter-c/tree-sitter-c.wasm', opts),
  };
}

/** Idempotent: the first call loads the wasm files, later calls return the same promise. */
export function initFrontend(opts?: FrontendOptions): Promise<void> {
  if (!ready) {
    ready = (async () => {
      const { runtime: runtimeWasm, c: grammarWasm } = wasmPaths(opts);
      // Emscripten fills the options object with the module's exports: kept for FastCursor.
      const mod: { locateFile: () => string; _ts_init?: () => number } = { locateFile: () => runtimeWasm };
      await Parser.init(mod);
      registerRawModule(mod, typeof mod._ts_init === 'function' ? mod._ts_init() : 0);
      language = await Language.load(grammarWasm);
      parser = new Parser();
      parser.setLanguage(language);
    })();
    ready.catch(() => {
      ready = null;
    });
  }
  return ready;
}

export function isFrontendReady(): boolean {
  return parser !== null;
}

/** The shared parser; throws if initFrontend() has not completed. */
export function getParser(): Parser {
  if (!parser) throw new Error('kvm-locklint: initFrontend() must complete before parsing');
  return parser;
}

export function getLanguage(): Language {
  if (!language) throw new Error('kvm-locklint: initFrontend() must complete before parsing');
  return language;
}
