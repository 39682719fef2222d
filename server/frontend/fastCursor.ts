/**
 * A tree cursor that calls web-tree-sitter's wasm exports directly.
 *
 * web-tree-sitter's `TreeCursor` keeps the cursor's state in JS and copies it into the wasm
 * transfer buffer and back on every call (eight generic `setValue`/`getValue` calls per step).
 * Walking the statement skeleton of a file makes ~10 such calls per node, which cost about a
 * third of the front end's JS time. The wasm functions themselves read the cursor from the
 * transfer buffer and write it back, so as long as nothing else uses the buffer between two
 * calls the state can simply stay there. This class does exactly that: it takes the cursor's
 * state in once (from a public `TreeCursor`), steps it with raw calls, and writes it back into
 * the `TreeCursor` when done (`sync`), so that the public object stays valid.
 *
 * When the module's exports are not found (another web-tree-sitter build), `FastCursor.wrap`
 * returns an adapter over the public API: same results, ordinary speed.
 */
import type { Language, Tree, TreeCursor } from 'web-tree-sitter';

/** The part of the emscripten module the raw cursor needs. */
export interface RawModule {
  HEAP32: Int32Array;
  _ts_tree_cursor_goto_first_child_wasm(tree: number): number;
  _ts_tree_cursor_goto_next_sibling_wasm(tree: number): number;
  _ts_tree_cursor_goto_parent_wasm(tree: number): number;
  _ts_tree_cursor_current_node_type_id_wasm(tree: number): number;
  _ts_tree_cursor_current_field_id_wasm(tree: number): number;
  _ts_tree_cursor_start_index_wasm(tree: number): number;
  _ts_tree_cursor_end_index_wasm(tree: number): number;
  _ts_tree_cursor_current_node_wasm(tree: number): void;
  _ts_node_has_error_wasm(tree: number): number;
}

const REQUIRED: (keyof RawModule)[] = [
  '_ts_tree_cursor_goto_first_child_wasm',
  '_ts_tree_cursor_goto_next_sibling_wasm',
  '_ts_tree_cursor_goto_parent_wasm',
  '_ts_tree_cursor_current_node_type_id_wasm',
  '_ts_tree_cursor_current_field_id_wasm',
  '_ts_tree_cursor_start_index_wasm',
  '_ts_tree_cursor_end_index_wasm',
  '_ts_tree_cursor_current_node_wasm',
  '_ts_node_has_error_wasm',
];

let raw: { mod: RawModule; transfer: number } | null = null;
/** Tests compare the raw walk with the public one. */
let rawEnabled = true;

/**
 * Registers the emscripten module (the options object given to `Parser.init`, which emscripten
 * fills with the exports) and the transfer buffer's address. Ignored when an export is missing.
 */
export function registerRawModule(mod: unknown, transferBuffer: number): void {
  const m = mod as Partial<RawModule> | null;
  if (!m || !(transferBuffer > 0) || !REQUIRED.every((k) => typeof m[k] === 'function') || !(m.HEAP32 instanceof Int32Array)) {
    raw = null;
    return;
  }
  raw = { mod: m as RawModule, transfer: transferBuffer };
}

/** The cursor operations the skeleton builder needs. */
export interface WalkCursor {
  gotoFirstChild(): boolean;
  gotoNextSibling(): boolean;
  gotoParent(): void;
  /** The node type name (`ERROR` for unknown ids, as web-tree-sitter reports it). */
  type(): string;
  typeId(): number;
  /**
   * Type names by id, as `type()` reports them (`ERROR` for ids without a name), interned so that
   * comparisons with string literals are pointer comparisons. The same array for every cursor of
   * one language (callers may key caches on it).
   */
  typeNames(): readonly string[];
  startIndex(): number;
  endIndex(): number;
  fieldName(): string | null;
  /** Whether the current node contains a syntax error (ERROR or MISSING) anywhere inside. */
  hasError(): boolean;
  /** Writes the state back into the public cursor (call before using it again). */
  sync(): void;
}

type Internal = { [k: number]: number };

const typeNameTables = new WeakMap<object, readonly string[]>();

/** Interns a string: property keys are internalised by V8 (strings from wasm are not). */
function intern(s: string): string {
  const o: Record<string, number> = {};
  o[s] = 0;
  return Object.keys(o)[0] ?? s;
}

/** `types[id] || 'ERROR'` for every id, interned (cached per language). */
export function typeNamesOf(language: Language): readonly string[] {
  const types = language.types as readonly (string | null | undefined)[];
  let t = typeNameTables.get(types);
  if (!t) {
    const names: string[] = [];
    for (let i = 0; i < types.length; i++) names.push(intern(types[i] || 'ERROR'));
    t = names;
    typeNameTables.set(types, t);
  }
  return t;
}

class RawCursor implements WalkCursor {
  private readonly types: readonly string[];
  private readonly fields: readonly (string | null)[];
  private readonly t: number;

  constructor(
    private readonly m: RawModule,
    private readonly transfer: number,
    private readonly cursor: TreeCursor,
    tree: Tree,
    language: Language,
  ) {
    this.t = (tree as unknown as Internal)[0];
    this.types = typeNamesOf(language);
    this.fields = language.fields;
    // The getter marshals the public cursor's state into the transfer buffer.
    void cursor.nodeTypeId;
  }
  gotoFirstChild(): boolean {
    return this.m._ts_tree_cursor_goto_first_child_wasm(this.t) === 1;
  }
  gotoNextSibling(): boolean {
    return this.m._ts_tree_cursor_goto_next_sibling_wasm(this.t) === 1;
  }
  gotoParent(): void {
    this.m._ts_tree_cursor_goto_parent_wasm(this.t);
  }
  typeId(): number {
    return this.m._ts_tree_cursor_current_node_type_id_wasm(this.t);
  }
  type(): string {
    return this.types[this.m._ts_tree_cursor_current_node_type_id_wasm(this.t)] ?? 'ERROR';
  }
  typeNames(): readonly string[] {
    return this.types;
  }
  startIndex(): number {
    return this.m._ts_tree_cursor_start_index_wasm(this.t);
  }
  endIndex(): number {
    return this.m._ts_tree_cursor_end_index_wasm(this.t);
  }
  fieldName(): string | null {
    return this.fields[this.m._ts_tree_cursor_current_field_id_wasm(this.t)] ?? null;
  }
  hasError(): boolean {
    // Materialising the node overwrites the transfer buffer: save and restore the cursor.
    const at = this.transfer >> 2;
    let heap = this.m.HEAP32;
    const s0 = heap[at];
    const s1 = heap[at + 1];
    const s2 = heap[at + 2];
    const s3 = heap[at + 3];
    this.m._ts_tree_cursor_current_node_wasm(this.t);
    const result = this.m._ts_node_has_error_wasm(this.t) === 1;
    heap = this.m.HEAP32; // memory may have grown
    heap[at] = s0;
    heap[at + 1] = s1;
    heap[at + 2] = s2;
    heap[at + 3] = s3;
    return result;
  }
  sync(): void {
    const at = this.transfer >> 2;
    const heap = this.m.HEAP32;
    const c = this.cursor as unknown as Internal;
    c[0] = heap[at];
    c[1] = heap[at + 1];
    c[2] = heap[at + 2];
    c[3] = heap[at + 3];
  }
}

/** The same operations over the public API (fallback). */
class PublicCursor implements WalkCursor {
  private readonly names: readonly string[];
  constructor(
    private readonly c: TreeCursor,
    language: Language | undefined,
  ) {
    this.names = language ? typeNamesOf(language) : [];
  }
  typeNames(): readonly string[] {
    return this.names;
  }
  gotoFirstChild(): boolean {
    return this.c.gotoFirstChild();
  }
  gotoNextSibling(): boolean {
    return this.c.gotoNextSibling();
  }
  gotoParent(): void {
    this.c.gotoParent();
  }
  typeId(): number {
    return this.c.nodeTypeId;
  }
  type(): string {
    return this.c.nodeType;
  }
  startIndex(): number {
    return this.c.startIndex;
  }
  endIndex(): number {
    return this.c.endIndex;
  }
  fieldName(): string | null {
    return this.c.currentFieldName;
  }
  hasError(): boolean {
    return this.c.currentNode.hasError;
  }
  sync(): void {}
}

export const FastCursor = {
  /**
   * A walk cursor over `cursor` (a fresh `tree.walk()`). While it is in use, no other
   * web-tree-sitter call may run on this thread; call `sync()` afterwards.
   */
  wrap(cursor: TreeCursor, tree: Tree): WalkCursor {
    if (raw && rawEnabled && tree.language) return new RawCursor(raw.mod, raw.transfer, cursor, tree, tree.language);
    return new PublicCursor(cursor, tree.language ?? undefined);
  },
  /** Whether the raw path is in use (for tests and measurements). */
  get raw(): boolean {
    return raw !== null && rawEnabled;
  },
  /** For tests: false makes `wrap` use the public API. */
  setRawEnabled(on: boolean): void {
    rawEnabled = on;
  },
};
