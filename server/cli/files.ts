/**
 * Finding the C files to lint and reading them safely. Shared by the command line, its worker
 * threads and the language server's indexer.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Files larger than this are skipped unless the caller says otherwise (the LSP has a setting). */
export const DEFAULT_MAX_FILE_BYTES = 2048 * 1024;

const SKIP_DIRS = new Set(['.git', 'node_modules', '.hg', '.svn']);

export function isCSource(file: string): boolean {
  return (file.endsWith('.c') || file.endsWith('.h')) && !file.endsWith('.mod.c');
}

export interface WalkResult {
  /** Absolute paths, sorted, without duplicates. */
  files: string[];
  /** One sentence per path that could not be read (permissions, broken links). */
  notes: { file: string; message: string }[];
}

/**
 * Collects `.c` and `.h` files under the given files or directories. Directories named `.git`
 * or `node_modules` and generated `*.mod.c` files are skipped; symlinked directories are not
 * followed (kernel trees link back into themselves).
 * A path that does not exist is an error for the caller to report: see `missingPaths`.
 */
/**
 * A whole kernel tree holds tens of thousands of C files that have nothing to do with KVM. When a
 * directory given to walkSources is the root of one (it has virt/kvm and arch/), only KVM's part
 * is walked: virt/kvm, arch/<arch>/kvm, KVM's headers in include/ and arch/<arch>/include/asm.
 */
export function isKernelRoot(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'virt', 'kvm')) && fs.existsSync(path.join(dir, 'arch'));
}

/** The parts of a kernel tree that kvm-locklint reads (directories and single headers). */
export function kernelKvmScope(root: string): string[] {
  const scope = [path.join(root, 'virt', 'kvm'), path.join(root, 'include', 'kvm')];
  const listDir = (dir: string): fs.Dirent[] => {
    try {
      return fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return [];
    }
  };
  for (const e of listDir(path.join(root, 'include', 'linux'))) {
    if (e.isFile() && /^kvm.*\.h$/.test(e.name)) scope.push(path.join(root, 'include', 'linux', e.name));
  }
  for (const arch of listDir(path.join(root, 'arch'))) {
    if (!arch.isDirectory()) continue;
    scope.push(path.join(root, 'arch', arch.name, 'kvm'));
    const asm = path.join(root, 'arch', arch.name, 'include', 'asm');
    for (const e of listDir(asm)) if (e.isFile() && /^kvm.*\.h$/.test(e.name)) scope.push(path.join(asm, e.name));
  }
  return scope.filter((p) => fs.existsSync(p));
}

export function walkSources(paths: string[]): WalkResult {
  const found = new Set<string>();
  const notes: WalkResult['notes'] = [];
  const visitDir = (dir: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      notes.push({ file: dir, message: `cannot read directory: ${errorText(err)}` });
      return;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIP_DIRS.has(entry.name)) visitDir(full);
      } else if ((entry.isFile() || entry.isSymbolicLink()) && isCSource(entry.name)) {
        found.add(full);
      }
    }
  };
  for (const p of paths) {
    const abs = path.resolve(p);
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(abs);
    } catch (err) {
      notes.push({ file: abs, message: `cannot read: ${errorText(err)}` });
      continue;
    }
    if (stat.isDirectory() && isKernelRoot(abs)) {
      for (const part of kernelKvmScope(abs)) {
        if (fs.statSync(part).isDirectory()) visitDir(part);
        else found.add(part);
      }
    } else if (stat.isDirectory()) visitDir(abs);
    // A file named explicitly is linted whatever its extension: the user asked for it.
    else found.add(abs);
  }
  return { files: [...found].sort(), notes };
}

/** The given paths that do not exist (bad usage for the command line). */
export function missingPaths(paths: string[]): string[] {
  return paths.filter((p) => !fs.existsSync(p));
}

export type ReadResult = { ok: true; text: string } | { ok: false; reason: string };

/**
 * Reads a source file as UTF-8, refusing what cannot be C: files above `maxBytes` and files
 * with NUL bytes in their first 8 KiB (binary). The reason is one sentence for a note.
 */
export function readSource(file: string, maxBytes = DEFAULT_MAX_FILE_BYTES): ReadResult {
  let buf: Buffer;
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) return { ok: false, reason: 'not a regular file' };
    if (stat.size > maxBytes) return { ok: false, reason: tooLarge(stat.size, maxBytes) };
    buf = fs.readFileSync(file);
  } catch (err) {
    return { ok: false, reason: `cannot read: ${errorText(err)}` };
  }
  return decodeSource(buf, maxBytes);
}

export function decodeSource(buf: Buffer, maxBytes = DEFAULT_MAX_FILE_BYTES): ReadResult {
  if (buf.length > maxBytes) return { ok: false, reason: tooLarge(buf.length, maxBytes) };
  if (looksBinary(buf)) return { ok: false, reason: 'skipped: binary content' };
  return { ok: true, text: buf.toString('utf8') };
}

/** A NUL byte in the first 8 KiB: what git and grep call binary. */
export function looksBinary(data: Buffer | string): boolean {
  const n = Math.min(data.length, 8192);
  if (typeof data === 'string') {
    for (let i = 0; i < n; i++) if (data.charCodeAt(i) === 0) return true;
    return false;
  }
  return data.subarray(0, n).includes(0);
}

function tooLarge(size: number, maxBytes: number): string {
  return `skipped: ${Math.round(size / 1024)} KiB is above the ${Math.round(maxBytes / 1024)} KiB limit`;
}

export function errorText(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return err instanceof Error ? err.message : String(err);
}

/** Just the files of walkSources (for scripts that do not care why a path was unreadable). */
export function collectCFiles(paths: string[]): string[] {
  return walkSources(paths).files;
}
