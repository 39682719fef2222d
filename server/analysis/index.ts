/**
 * The workspace index: what one file cannot know about itself. Built from every file's facts:
 * struct layouts, the chosen definition of each function name, helper return types, global lock
 * definitions, and which functions are stored in which struct fields (for indirect calls).
 */
import type {
  CallOp,
  FieldFunctionBinding,
  FileFacts,
  FunctionFacts,
  GlobalLockDef,
  StructDef,
  StructField,
} from '../frontend/facts';

export interface StructInfo {
  name: string;
  file: string;
  fields: Map<string, StructField>;
}

export interface WorkspaceIndex {
  structs: Map<string, StructInfo>;
  /** Every definition of a name, all files. */
  allFunctions: Map<string, FunctionFacts[]>;
  /** The definition that calls of a name resolve to. */
  functions: Map<string, FunctionFacts>;
  /** Helper name -> struct it returns a pointer to (`to_kvm_hv` -> `kvm_hv`). */
  returnTypes: Map<string, string>;
  globals: Map<string, GlobalLockDef & { file: string }>;
  /** field -> struct type ('' when unknown; the array variable for field '[]') -> functions bound to it. */
  bindings: Map<string, Map<string, Set<string>>>;
  /** Every binding with its file and position (which function's body an initializer is in). */
  bindingSites?: (FieldFunctionBinding & { file: string })[];
  /** A signature of the parts that change class resolution (structs, globals); equal means "same layout". */
  layoutSignature: string;
}

/** Is `fn` a likely `#ifdef` stub: a short body in a header. */
function isStub(fn: FunctionFacts): boolean {
  const lines = fn.range.end.line - fn.range.start.line;
  return fn.file.endsWith('.h') && lines <= 3;
}

/** Lower is better. */
function definitionRank(fn: FunctionFacts): number {
  let r = 0;
  if (fn.isWeak) r += 4;
  if (isStub(fn)) r += 2;
  if (fn.file.endsWith('.h')) r += 1;
  return r;
}

function lockOpCount(fn: FunctionFacts): number {
  let n = 0;
  for (const b of fn.blocks) for (const op of b.ops) if (op.k !== 'call' && op.k !== 'assign') n++;
  return n;
}

/** Picks the definition that a call of this name means: non-weak over weak, .c over .h, real body over stub. */
export function chooseDefinition(defs: FunctionFacts[]): FunctionFacts {
  let best = defs[0];
  let bestRank = definitionRank(best);
  for (let i = 1; i < defs.length; i++) {
    const d = defs[i];
    const r = definitionRank(d);
    // On a tie (32/64-bit pairs, FNAME copies) keep the one with more lock activity: it is the
    // one a "may" analysis must not miss.
    if (r < bestRank || (r === bestRank && lockOpCount(d) > lockOpCount(best))) {
      best = d;
      bestRank = r;
    }
  }
  return best;
}

function hashString(s: string, h = 2166136261): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/** Per-file layout hash, cached by facts object (facts of an unchanged file are reused as is). */
const fileLayoutHash = new WeakMap<FileFacts, number>();

function layoutHashOf(ff: FileFacts): number {
  let h = fileLayoutHash.get(ff);
  if (h === undefined) {
    h = 2166136261;
    for (const s of ff.structs) {
      h = hashString(s.name, h);
      for (const fld of s.fields) h = hashString(`${fld.name}:${fld.type}:${fld.pointer}:${fld.inline ? fld.inline.length : ''}`, h);
    }
    for (const g of ff.globals) h = hashString(`g${g.name}:${g.kind}`, h);
    fileLayoutHash.set(ff, h);
  }
  return h;
}

function structSignature(files: Iterable<FileFacts>): string {
  let h = 2166136261;
  for (const ff of files) h = hashString(layoutHashOf(ff).toString(36), h);
  return h.toString(16);
}

const structInfoCache = new WeakMap<StructDef, StructInfo>();

function structInfoOf(s: StructDef): StructInfo {
  let info = structInfoCache.get(s);
  if (!info) {
    const fields = new Map<string, StructField>();
    for (const fld of s.fields) fields.set(fld.name, fld);
    info = { name: s.name, file: s.file, fields };
    structInfoCache.set(s, info);
  }
  return info;
}

export function buildIndex(files: Iterable<FileFacts>): WorkspaceIndex {
  const list = [...files].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const structs = new Map<string, StructInfo>();
  const allFunctions = new Map<string, FunctionFacts[]>();
  const globals = new Map<string, GlobalLockDef & { file: string }>();
  const bindings = new Map<string, Map<string, Set<string>>>();
  const bindingSites: (FieldFunctionBinding & { file: string })[] = [];
  for (const ff of list) {
    for (const s of ff.structs) {
      const prev = structs.get(s.name);
      // Keep the definition with the most fields (forward declarations and #ifdef halves are smaller).
      if (!prev || prev.fields.size < s.fields.length) structs.set(s.name, structInfoOf(s));
    }
    for (const fn of ff.functions) {
      if (!fn.name) continue;
      const defs = allFunctions.get(fn.name);
      if (defs) defs.push(fn);
      else allFunctions.set(fn.name, [fn]);
    }
    for (const g of ff.globals) if (!globals.has(g.name)) globals.set(g.name, { ...g, file: ff.file });
    for (const b of ff.bindings) {
      bindingSites.push({ ...b, file: ff.file });
      let byType = bindings.get(b.field);
      if (!byType) bindings.set(b.field, (byType = new Map()));
      // Arrays of function pointers (field '[]') are keyed by the array variable: `arr[i](...)` means that array only.
      const key = b.field === '[]' ? b.variable : b.structType ?? '';
      let set = byType.get(key);
      if (!set) byType.set(key, (set = new Set()));
      set.add(b.func);
    }
  }
  const functions = new Map<string, FunctionFacts>();
  const returnTypes = new Map<string, string>();
  for (const [name, defs] of allFunctions) {
    const chosen = chooseDefinition(defs);
    functions.set(name, chosen);
    if (chosen.returnsPointer && chosen.returnType && !/^(void|char|int|u\d+|unsigned)$/.test(chosen.returnType)) {
      returnTypes.set(name, chosen.returnType);
    }
  }
  let sig = structSignature(list);
  let h = 2166136261;
  for (const [k, v] of [...returnTypes].sort((a, b) => (a[0] < b[0] ? -1 : 1))) h = hashString(`${k}>${v}`, h);
  sig += ':' + (h >>> 0).toString(16);
  return { structs, allFunctions, functions, returnTypes, globals, bindings, bindingSites, layoutSignature: sig };
}

/**
 * The functions an indirect call may reach: every function stored in field `field` of struct
 * `table` (or of any struct when the table is unknown). Nothing when nothing is bound: an
 * unresolvable call is skipped, never guessed.
 */
export function resolveIndirect(index: WorkspaceIndex, ind: NonNullable<CallOp['indirect']>): string[] {
  const byType = index.bindings.get(ind.field);
  if (!byType) return [];
  const out = new Set<string>();
  if (ind.field === '[]') {
    // `handlers[i](vcpu)`: the functions in that array's initializer, nothing else.
    for (const fn of (ind.table && byType.get(ind.table)) || []) out.add(fn);
  } else if (ind.table) {
    const set = byType.get(ind.table);
    if (set) for (const fn of set) out.add(fn);
    // Bindings whose struct type the front end could not see (a macro-made initializer).
    const unknown = byType.get('');
    if (unknown && out.size === 0) for (const fn of unknown) out.add(fn);
  } else {
    for (const set of byType.values()) for (const fn of set) out.add(fn);
  }
  return [...out].filter((n) => index.functions.has(n));
}

/** Call targets of a call op that have a definition in the workspace. */
export function callTargets(index: WorkspaceIndex, op: CallOp): string[] {
  if (op.indirect) return resolveIndirect(index, op.indirect);
  return index.functions.has(op.callee) ? [op.callee] : [];
}
