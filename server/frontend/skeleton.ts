/**
 * The statement-level skeleton of a tree-sitter tree.
 *
 * Walking every tree-sitter node from JS costs about as much as parsing (each step crosses into
 * wasm), so the front end only materialises nodes that carry control flow or file structure;
 * statements that hold expressions are leaves whose text is read by `cexpr.ts`.
 */
import type { Node } from 'web-tree-sitter';
import { FastCursor, type WalkCursor } from './fastCursor';

export interface SNode {
  type: string;
  /** Start / end offsets in the text (UTF-16 code units, as web-tree-sitter reports them). */
  s: number;
  e: number;
  /** Children (including anonymous tokens such as `else`, `:`, `;`) for container types only. */
  kids?: SNode[];
  /** Field name in the parent, recorded for children of `for_statement` only. */
  field?: string | null;
}

/** Node types whose children are needed (inside function bodies and at file scope). */
const CONTAINERS = new Set([
  'translation_unit',
  'function_definition',
  'compound_statement',
  'if_statement',
  'else_clause',
  'while_statement',
  'do_statement',
  'for_statement',
  'switch_statement',
  'case_statement',
  'labeled_statement',
  'attributed_statement',
  'preproc_if',
  'preproc_ifdef',
  'preproc_else',
  'preproc_elif',
  'preproc_elifdef',
  'linkage_specification',
  'declaration_list',
  'ERROR',
]);

/** Per type id: 1 when the type is in CONTAINERS (cached per type-name table). */
const containerTables = new WeakMap<readonly string[], Uint8Array>();

export function containerFlags(names: readonly string[]): Uint8Array {
  let f = containerTables.get(names);
  if (!f) {
    f = new Uint8Array(names.length);
    for (let i = 0; i < names.length; i++) if (CONTAINERS.has(names[i])) f[i] = 1;
    containerTables.set(names, f);
  }
  return f;
}

/** Builds the skeleton of the node under the cursor (the cursor is restored afterwards). */
export function skeletonAt(cursor: WalkCursor, errorCounter?: { n: number }): SNode {
  const names = cursor.typeNames();
  return skeletonWith(cursor, names, containerFlags(names), errorCounter);
}

function skeletonWith(cursor: WalkCursor, names: readonly string[], containers: Uint8Array, errorCounter: { n: number } | undefined): SNode {
  const id = cursor.typeId();
  // Ids without a name (ERROR) are not in the table: ask the cursor.
  const known = id < names.length;
  const type = known ? names[id] : cursor.type();
  const node: SNode = { type, s: cursor.startIndex(), e: cursor.endIndex() };
  if (type === 'ERROR' && errorCounter) errorCounter.n++;
  if ((known ? containers[id] === 1 : CONTAINERS.has(type)) && cursor.gotoFirstChild()) {
    const kids: SNode[] = [];
    const wantField = type === 'for_statement';
    do {
      const k = skeletonWith(cursor, names, containers, errorCounter);
      if (wantField) k.field = cursor.fieldName();
      kids.push(k);
    } while (cursor.gotoNextSibling());
    cursor.gotoParent();
    node.kids = kids;
  }
  return node;
}

/** Skeleton of one node (creates a cursor). */
export function skeletonOf(n: Node, errorCounter?: { n: number }): SNode {
  const c = n.walk();
  try {
    const w = FastCursor.wrap(c, n.tree);
    const sk = skeletonAt(w, errorCounter);
    w.sync();
    return sk;
  } finally {
    c.delete();
  }
}

/** Top-level items of a file: walks into preprocessor branches, ERROR nodes and `extern "C"` blocks. */
export interface TopItem {
  node: SNode;
  /** The previous sibling at the same level (to recover `static int __init` headers). */
  prev?: SNode;
}

export const STATEMENT_TYPES = new Set([
  'compound_statement',
  'expression_statement',
  'declaration',
  'if_statement',
  'while_statement',
  'do_statement',
  'for_statement',
  'switch_statement',
  'case_statement',
  'labeled_statement',
  'attributed_statement',
  'goto_statement',
  'break_statement',
  'continue_statement',
  'return_statement',
  'function_definition',
  'preproc_if',
  'preproc_ifdef',
  'ERROR',
  'type_definition',
]);
