/**
 * The workspace index: what one file cannot know about itself. Built from every file's facts:
 * struct layouts, the chosen definition of each function name, helper return types, global lock
 * definitions, and which functions are stored in which struct fields (for indirect calls).
 */
import type {
  AccessPath,
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
  /** field -> the bindings of type '' whose object path the workspace may type (FieldFunctionBinding.obj). */
  untypedBindings: Map<string, { func: string; obj: AccessPath }[]>;
  /**
   * Names some file's `#define` bodies call (a function, or a field called through a pointer),
   * and functions exported with `EXPORT_SYMBOL*()`: their callers may not be seen here.
   */
  macroCalled: Set<string>;
  exported: Set<string>;
  /** Every binding with its file and position (which function's body an initializer is in). */
  bindingSites?: (FieldFunctionBinding & { file: string })[];
  /** A signature of the parts that change class resolution (structs, globals); equal means "same layout". */
  layoutSignature: string;
  /** Names with more than one definition (their other definitions are analysed as extra flows). */
  multiDefined?: string[];
  /** Unique per index object (IndexBuilder): what `delta` refers to. */
  id?: number;
  /**
   * Set by IndexBuilder: the names whose entry in `functions` differs from the index `from`
   * (replaced, added or removed). Every other name maps to the very same FunctionFacts object.
   */
  delta?: { from: number; names: ReadonlySet<string> };
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
  const untypedBindings = new Map<string, { func: string; obj: AccessPath }[]>();
  const macroCalled = new Set<string>();
  const exported = new Set<string>();
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
    for (const site of bindingSitesOf(ff)) bindingSites.push(site);
    for (const name of ff.macroCalls ?? []) macroCalled.add(name);
    for (const name of ff.exported ?? []) exported.add(name);
    for (const b of ff.bindings) {
      let byType = bindings.get(b.field);
      if (!byType) bindings.set(b.field, (byType = new Map()));
      // Arrays of function pointers (field '[]') are keyed by the array variable: `arr[i](...)` means that array only.
      const key = b.field === '[]' ? b.variable : b.structType ?? '';
      let set = byType.get(key);
      if (!set) byType.set(key, (set = new Set()));
      set.add(b.func);
      if (b.obj) {
        const list = untypedBindings.get(b.field);
        if (list) list.push({ func: b.func, obj: b.obj });
        else untypedBindings.set(b.field, [{ func: b.func, obj: b.obj }]);
      }
    }
  }
  const functions = new Map<string, FunctionFacts>();
  const returnTypes = new Map<string, string>();
  const multiDefined: string[] = [];
  for (const [name, defs] of allFunctions) {
    if (defs.length > 1) multiDefined.push(name);
    const chosen = chooseDefinition(defs);
    functions.set(name, chosen);
    const rt = returnTypeOf(chosen);
    if (rt !== undefined) returnTypes.set(name, rt);
  }
  const sig = structSignature(list) + ':' + returnTypesSignature(returnTypes);
  return { structs, allFunctions, functions, returnTypes, globals, bindings, untypedBindings, macroCalled, exported, bindingSites, layoutSignature: sig, multiDefined };
}

function returnTypesSignature(returnTypes: ReadonlyMap<string, string>): string {
  let h = 2166136261;
  for (const [k, v] of [...returnTypes].sort((a, b) => (a[0] < b[0] ? -1 : 1))) h = hashString(`${k}>${v}`, h);
  return (h >>> 0).toString(16);
}

/** The return type a chosen definition gives its name in `returnTypes`, if any. */
function returnTypeOf(chosen: FunctionFacts): string | undefined {
  return chosen.returnsPointer && chosen.returnType && !/^(void|char|int|u\d+|unsigned)$/.test(chosen.returnType) ? chosen.returnType : undefined;
}

function byFileName(a: FileFacts, b: FileFacts): number {
  return a.file < b.file ? -1 : a.file > b.file ? 1 : 0;
}

function sameNames<T extends { name: string }>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].name !== b[i].name) return false;
  return true;
}

function sameFields(a: readonly StructField[], b: readonly StructField[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x.name !== y.name || x.type !== y.type || x.pointer !== y.pointer || !!x.inline !== !!y.inline) return false;
    if (x.inline && !sameFields(x.inline, y.inline!)) return false;
  }
  return true;
}

/**
 * Can the index of `next` be had by patching the one of `prev` (same file)? Yes when the file
 * defines the same names in the same order (so every map of a fresh build has the same keys in
 * the same order), the same struct layouts, globals and function-pointer bindings; only
 * function bodies, positions and return types may differ.
 */
function patchable(prev: FileFacts, next: FileFacts): boolean {
  if (!sameNames(prev.functions, next.functions) || !sameNames(prev.structs, next.structs) || !sameNames(prev.globals, next.globals)) return false;
  // Definitions are told apart by file below.
  for (const fn of next.functions) if (fn.file !== next.file) return false;
  for (let i = 0; i < prev.structs.length; i++) if (!sameFields(prev.structs[i].fields, next.structs[i].fields)) return false;
  for (let i = 0; i < prev.globals.length; i++) if (prev.globals[i].kind !== next.globals[i].kind || prev.globals[i].perCpu !== next.globals[i].perCpu) return false;
  if (prev.bindings.length !== next.bindings.length) return false;
  if ((prev.macroCalls ?? []).join(',') !== (next.macroCalls ?? []).join(',')) return false;
  if ((prev.exported ?? []).join(',') !== (next.exported ?? []).join(',')) return false;
  for (let i = 0; i < prev.bindings.length; i++) {
    const x = prev.bindings[i];
    const y = next.bindings[i];
    if (x.field !== y.field || x.func !== y.func || x.variable !== y.variable || x.structType !== y.structType) return false;
    if (!!x.obj !== !!y.obj || (x.obj && JSON.stringify(x.obj) !== JSON.stringify(y.obj))) return false;
  }
  return true;
}

const bindingSitesCache = new WeakMap<FileFacts, (FieldFunctionBinding & { file: string })[]>();

function bindingSitesOf(ff: FileFacts): (FieldFunctionBinding & { file: string })[] {
  let sites = bindingSitesCache.get(ff);
  if (!sites) {
    sites = ff.bindings.map((b) => ({ ...b, file: ff.file }));
    bindingSitesCache.set(ff, sites);
  }
  return sites;
}

let nextIndexId = 1;

/**
 * Builds the index across analyses: when the changed files define the same names as before
 * (an edit inside bodies, lines added or removed), the previous index is patched for the names
 * of those files only; otherwise it is built afresh. Either way the result equals what
 * buildIndex gives for the same files (map contents and iteration order), and it carries the
 * names whose chosen definition changed (`delta`) so the solver need not compare every function.
 * A patch updates the previous index's maps in place: an index returned by build() is valid
 * until the next build().
 */
export class IndexBuilder {
  private files: FileFacts[] = [];
  private index: WorkspaceIndex | undefined;

  build(input: Iterable<FileFacts>): WorkspaceIndex {
    const list = [...input].sort(byFileName);
    const prev = this.index;
    const next = (prev && this.patch(prev, list)) ?? this.fresh(prev, list);
    this.files = list;
    this.index = next;
    return next;
  }

  private fresh(prev: WorkspaceIndex | undefined, list: FileFacts[]): WorkspaceIndex {
    const index = buildIndex(list);
    index.id = nextIndexId++;
    if (prev?.id !== undefined) {
      const names = new Set<string>();
      for (const [name, fn] of index.functions) if (prev.functions.get(name) !== fn) names.add(name);
      for (const name of prev.functions.keys()) if (!index.functions.has(name)) names.add(name);
      index.delta = { from: prev.id, names };
    }
    return index;
  }

  /** The previous index patched for the changed files, or undefined when that is not possible. */
  private patch(prev: WorkspaceIndex, list: FileFacts[]): WorkspaceIndex | undefined {
    const old = this.files;
    if (prev.id === undefined || old.length !== list.length) return undefined;
    // Two facts with one file name: definitions could not be told apart by file.
    for (let i = 1; i < list.length; i++) if (list[i - 1].file === list[i].file) return undefined;
    const changed: [FileFacts, FileFacts][] = [];
    for (let i = 0; i < list.length; i++) {
      if (old[i] === list[i]) continue;
      if (old[i].file !== list[i].file || !patchable(old[i], list[i])) return undefined;
      changed.push([old[i], list[i]]);
    }
    const names = new Set<string>();
    // Updated in place: same keys in the same order, values of the changed files' names.
    const allFunctions = prev.allFunctions;
    const functions = prev.functions;
    let returnTypes = prev.returnTypes;
    let returnTypesChanged = false;
    const globals = prev.globals;
    for (const [, ff] of changed) {
      // Each name's definitions in this file, in order, replace the old ones in place.
      const fresh = new Map<string, FunctionFacts[]>();
      for (const fn of ff.functions) {
        if (!fn.name) continue;
        const l = fresh.get(fn.name);
        if (l) l.push(fn);
        else fresh.set(fn.name, [fn]);
      }
      for (const [name, mine] of fresh) {
        const before = allFunctions.get(name)!;
        // Functions an edit only moved are the same objects (positions move in place).
        if (mine.length === 1 && before.length === 1 && before[0] === mine[0]) continue;
        let k = 0;
        const defs = before.map((d) => (d.file === ff.file ? mine[k++] : d));
        allFunctions.set(name, defs);
        const chosen = chooseDefinition(defs);
        if (functions.get(name) !== chosen) names.add(name);
        functions.set(name, chosen);
        const rt = returnTypeOf(chosen);
        if (returnTypes.get(name) !== rt) returnTypesChanged = true;
      }
      // A global keeps the file that defines it first; when that is this file, its new position.
      const seenGlobals = new Set<string>();
      for (const g of ff.globals) {
        if (seenGlobals.has(g.name)) continue;
        seenGlobals.add(g.name);
        if (globals.get(g.name)?.file !== ff.file) continue;
        globals.set(g.name, { ...g, file: ff.file });
      }
    }
    if (returnTypesChanged) {
      // Rebuilt rather than patched: a fresh build orders its keys by definition.
      const ordered = new Map<string, string>();
      for (const [name, chosen] of functions) {
        const rt = returnTypeOf(chosen);
        if (rt !== undefined) ordered.set(name, rt);
      }
      returnTypes = ordered;
    }
    let bindingSites = prev.bindingSites;
    if (changed.some(([, ff]) => ff.bindings.length > 0)) {
      bindingSites = [];
      for (const ff of list) for (const b of bindingSitesOf(ff)) bindingSites.push(b);
    }
    const structSig = prev.layoutSignature.slice(0, prev.layoutSignature.indexOf(':'));
    const layoutSignature = structSig + ':' + (returnTypesChanged ? returnTypesSignature(returnTypes) : prev.layoutSignature.slice(structSig.length + 1));
    return {
      structs: prev.structs,
      allFunctions,
      functions,
      returnTypes,
      globals,
      bindings: prev.bindings,
      untypedBindings: prev.untypedBindings,
      macroCalled: prev.macroCalled,
      exported: prev.exported,
      bindingSites,
      layoutSignature,
      multiDefined: prev.multiDefined,
      id: nextIndexId++,
      delta: { from: prev.id, names },
    };
  }
}

/** What resolving an indirect call needs besides the index: the type of the struct read from. */
export interface PathTyper {
  structTypeOf(path: AccessPath): string | undefined;
}

/**
 * The functions an indirect call may reach: every function stored in field `field` of struct
 * `table`, the struct type of the object it is read from when the workspace can type it
 * (ClassResolver.structTypeOf), or else of any struct. A binding made through a path the front
 * end could not type (`vcpu->arch.mmu->inject_page_fault = f`) counts for the table its path
 * types to here, or, when it cannot be typed here either, for the one struct type that binds
 * the field; bindings of unknown type are the fallback of a typed call that finds none. In
 * every case only functions that can
 * take the call's arguments (no fewer arguments than parameters: `cc->read(cc)` is not a
 * `file_operations.read`). A call through a function-pointer parameter reaches what callers
 * pass (summaries: function arguments), not the bindings of a field named like it. Nothing when
 * nothing is bound: an unresolvable call is skipped, never guessed.
 */
export function resolveIndirect(index: WorkspaceIndex, typer: PathTyper, op: CallOp): string[] {
  const ind = op.indirect;
  if (!ind || ind.param) return [];
  const byType = index.bindings.get(ind.field);
  if (!byType) return [];
  const out = new Set<string>();
  const addAll = (set: ReadonlySet<string> | undefined): void => {
    if (set) for (const fn of set) out.add(fn);
  };
  if (ind.field === '[]') {
    // `handlers[i](vcpu)`: the functions in that array's initializer, nothing else.
    if (ind.table) addAll(byType.get(ind.table));
  } else {
    const table = ind.table ?? (ind.obj && typer.structTypeOf(ind.obj));
    if (table) {
      addAll(byType.get(table));
      // An untyped binding's path that cannot be typed here either counts when no other struct
      // type binds this field: the field name then tells the table.
      let fieldOfOtherTypes: boolean | undefined;
      for (const u of index.untypedBindings.get(ind.field) ?? []) {
        if (out.has(u.func)) continue;
        const type = typer.structTypeOf(u.obj);
        fieldOfOtherTypes ??= [...byType.keys()].some((k) => k !== table && k !== '');
        if (type === table || (type === undefined && !fieldOfOtherTypes)) out.add(u.func);
      }
      // Bindings whose struct type the front end could not see (a macro-made initializer).
      if (out.size === 0) addAll(byType.get(''));
    } else {
      for (const set of byType.values()) addAll(set);
    }
  }
  const argc = op.args.length;
  const targets: string[] = [];
  for (const name of out) {
    const fn = index.functions.get(name);
    // (Variadic parameters are not listed, so more arguments than parameters may still fit.)
    if (fn && fn.params.length <= argc) targets.push(name);
  }
  return targets;
}

/** Call targets of a call op that have a definition in the workspace. */
export function callTargets(index: WorkspaceIndex, typer: PathTyper, op: CallOp): string[] {
  if (op.indirect) return resolveIndirect(index, typer, op);
  return index.functions.has(op.callee) ? [op.callee] : [];
}
