/** A tiny builder of hand-made FileFacts for analysis tests (no C front end involved). */
import type {
  AccessPath,
  Block,
  FileFacts,
  FunctionFacts,
  LockKind,
  LockMode,
  Op,
  Param,
  Range,
  StructDef,
} from '../../server/frontend/facts';

let line = 0;
/** A fresh one-line range (each op gets its own line, so findings can be told apart). */
export function r(l?: number): Range {
  const at = l ?? line++;
  return { start: { line: at, column: 1 }, end: { line: at, column: 20 } };
}

/** `vcpu->kvm->lock` with `vcpu` typed from `types` -> access path. `to_kvm_hv(kvm)->hv_lock` works too. */
export function path(text: string, types: Record<string, string> = {}): AccessPath {
  const call = /^(\w+)\((\w*)\)(?:->|\.)(.*)$/.exec(text);
  if (call) {
    return { text, base: { kind: 'call', callee: call[1], arg: call[2] ? path(call[2], types) : undefined }, fields: call[3].split(/->|\./) };
  }
  const parts = text.split(/->|\./);
  const base = parts[0];
  if (base.endsWith('()')) return { text, base: { kind: 'pseudo', name: base === 'cpus_read_lock()' ? 'cpu_hotplug_lock' : base }, fields: [] };
  if (parts.length === 1 && !(base in types)) return { text, base: { kind: 'global', name: base }, fields: [] };
  return { text, base: { kind: 'var', name: base, type: types[base] }, fields: parts.slice(1) };
}

const kindApi: Record<string, [string, string]> = {
  mutex: ['mutex_lock', 'mutex_unlock'],
  spinlock: ['spin_lock', 'spin_unlock'],
  raw_spinlock: ['raw_spin_lock', 'raw_spin_unlock'],
  rwlock: ['write_lock', 'write_unlock'],
  rwsem: ['down_write', 'up_write'],
  srcu: ['srcu_read_lock', 'srcu_read_unlock'],
};

export function acq(p: AccessPath, kind: LockKind = 'mutex', extra: Partial<Op & { k: 'acquire' }> = {}): Op {
  return { k: 'acquire', api: kindApi[kind]?.[0] ?? 'lock', range: r(), lock: p, kind, mode: (kind === 'srcu' ? 'read' : 'write') as LockMode, ...extra } as Op;
}
export function rel(p: AccessPath, kind: LockKind = 'mutex', extra: Partial<Op & { k: 'release' }> = {}): Op {
  return { k: 'release', api: kindApi[kind]?.[1] ?? 'unlock', range: r(), lock: p, kind, mode: (kind === 'srcu' ? 'read' : 'write') as LockMode, ...extra } as Op;
}
export function call(callee: string, args: (AccessPath | null)[] = [], indirect?: { table?: string; field: string; obj?: AccessPath; param?: true }): Op {
  return { k: 'call', api: callee, range: r(), callee, args, indirect: indirect ? { ...indirect, text: callee } : undefined };
}
export function assertHeld(p: AccessPath, mode: 'any' | LockMode = 'any'): Op {
  return { k: 'assert', api: 'lockdep_assert_held', range: r(), lock: p, mode };
}
export function sync(p: AccessPath): Op {
  return { k: 'sync', api: 'synchronize_srcu', range: r(), domain: p };
}

export interface BlockSpec {
  ops: Op[];
  succ: Block['succ'];
  ret?: boolean;
}

/** A function from explicit blocks; the last block index + 1 is the exit. */
export function fnCfg(name: string, file: string, params: Param[], blocks: BlockSpec[]): FunctionFacts {
  const start = line;
  const exit = blocks.length;
  const bs: Block[] = blocks.map((b) => ({ ops: b.ops, succ: b.succ, returnRange: b.ret ? r() : undefined }));
  bs.push({ ops: [], succ: [] });
  return {
    name,
    file,
    range: { start: { line: start, column: 0 }, end: { line: line + 1, column: 1 } },
    nameRange: r(start),
    params,
    returnType: 'int',
    returnsPointer: false,
    isStatic: false,
    isWeak: false,
    annotations: [],
    blocks: bs,
    entry: 0,
    exit,
    hasErrors: false,
  };
}

/** A straight-line function. */
export function fnLinear(name: string, file: string, params: Param[], ops: Op[]): FunctionFacts {
  return fnCfg(name, file, params, [{ ops, succ: [{ to: 1 }], ret: true }]);
}

export function param(name: string, type: string): Param {
  return { name, type, pointer: true };
}

export function fileFacts(file: string, functions: FunctionFacts[], structs: StructDef[] = [], extra: Partial<FileFacts> = {}): FileFacts {
  return {
    file,
    hash: `${file}:${line}:${Math.random()}`,
    functions,
    structs,
    globals: [],
    bindings: [],
    suppressions: [],
    errorCount: 0,
    ...extra,
  };
}
