/**
 * Build configurations: a kernel is built for one architecture, so when the files judged by one
 * rules source span several architectures, each architecture is analysed in a configuration of
 * its own (its files plus every generic file) instead of one index that picks or mixes the
 * per-architecture definitions of `kvm_arch_*` functions. Pure logic: which architecture a file
 * belongs to, and how the findings of the configurations merge into one report.
 */
import type { Finding } from '../checks/finding';

/** The key of generic files (virt/, include/, everything outside `arch/<name>/`). */
export const GENERIC = '';

const ARCH_DIR = /(?:^|[\\/])arch[\\/]([^\\/]+)[\\/]/;
const LOCKING_DOC = /[\\/]Documentation[\\/]virt(?:ual)?[\\/]kvm[\\/]locking\.(?:rst|txt)$/;

/**
 * Architecture code that older trees kept outside `arch/`: until 5.7, the KVM code of arm and
 * arm64 lived in `virt/kvm/arm/` (arm.c, mmu.c, the vgic). It is arm64's here: 32-bit arm KVM
 * is gone since 5.7, and an arm configuration without these files only sees fewer calls.
 */
const ARCH_CODE_OUTSIDE_ARCH: readonly { dir: RegExp; arch: string }[] = [
  { dir: /(?:^|[\\/])virt[\\/]kvm[\\/]arm[\\/]/, arch: 'arm64' },
];

/**
 * The architecture of a file: the `<name>` of the first `arch/<name>/` component of its path
 * relative to `root` (when the file is under it), else of the whole path; the architecture of
 * ARCH_CODE_OUTSIDE_ARCH; GENERIC when none.
 */
export function archOf(file: string, root?: string | null): string {
  let rel = file;
  if (root) {
    const r = root.replace(/[\\/]+$/, '');
    if (file.startsWith(r) && (file[r.length] === '/' || file[r.length] === '\\')) rel = file.slice(r.length);
  }
  const arch = ARCH_DIR.exec(rel)?.[1];
  if (arch !== undefined) return arch;
  return ARCH_CODE_OUTSIDE_ARCH.find((a) => a.dir.test(rel))?.arch ?? GENERIC;
}

/** The kernel tree a locking document belongs to (its `Documentation/` parent), if it is one. */
export function treeRootOfDoc(docPath: string | null): string | null {
  if (!docPath) return null;
  const m = LOCKING_DOC.exec(docPath);
  return m ? docPath.slice(0, m.index) : null;
}

export interface ArchSplit {
  /** Architecture files per architecture, in first-seen order. */
  archs: Map<string, string[]>;
  generic: string[];
}

export function splitByArch(files: Iterable<string>, root?: string | null): ArchSplit {
  const archs = new Map<string, string[]>();
  const generic: string[] = [];
  for (const file of files) {
    const arch = archOf(file, root);
    if (arch === GENERIC) {
      generic.push(file);
      continue;
    }
    let list = archs.get(arch);
    if (!list) archs.set(arch, (list = []));
    list.push(file);
  }
  return { archs, generic };
}

function findingKey(f: Finding): string {
  const r = f.range;
  return `${f.code}\u0000${f.file}\u0000${r.start.line}:${r.start.column}-${r.end.line}:${r.end.column}\u0000${f.message}`;
}

/**
 * The union of a generic file's findings over the configurations, each finding once (same code,
 * file, range and message), in position order. The first configuration's copy is kept.
 */
export function unionFindings(lists: Iterable<readonly Finding[]>): Finding[] {
  const seen = new Set<string>();
  const out: Finding[] = [];
  for (const list of lists) {
    for (const f of list) {
      const key = findingKey(f);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(f);
    }
  }
  out.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.column - b.range.start.column);
  return out;
}

/**
 * Merges per-configuration findings (keyed by file path): an architecture file's findings come
 * from its own configuration only, a generic file's are the union over all configurations.
 */
export function mergeConfigurationFindings(
  configs: readonly { arch: string; findings: ReadonlyMap<string, readonly Finding[]> }[],
  archOfFile: (file: string) => string,
): Map<string, Finding[]> {
  const merged = new Map<string, Finding[]>();
  const generic = new Map<string, (readonly Finding[])[]>();
  for (const c of configs) {
    for (const [file, list] of c.findings) {
      const arch = archOfFile(file);
      if (arch === GENERIC) {
        let lists = generic.get(file);
        if (!lists) generic.set(file, (lists = []));
        lists.push(list);
      } else if (arch === c.arch) {
        merged.set(file, [...list]);
      }
    }
  }
  for (const [file, lists] of generic) merged.set(file, lists.length === 1 ? [...lists[0]] : unionFindings(lists));
  return merged;
}
