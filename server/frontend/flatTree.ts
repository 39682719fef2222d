/**
 * The part of a syntax tree the extraction walks, as one typed array: the file-scope items and,
 * below every container node (skeleton.ts `CONTAINERS`: bodies, branches, preprocessor blocks),
 * its children. Leaves (expression statements, declarations, ...) are read from the text, so
 * their subtrees are not in it.
 *
 * Why: the command line parses on worker threads. A worker that also ran the extraction would
 * pay the JIT warm-up of the whole extraction code (its first pass costs about twice a warm
 * one) and send the facts as JSON, which the main thread must parse. A worker that flattens the
 * tree after parsing runs one small loop, and the array crosses to the main thread without a
 * copy; there `FlatCursor` walks it exactly like a tree cursor, so the same extraction code
 * gives the same facts.
 */
import type { Tree } from 'web-tree-sitter';
import { FastCursor, type WalkCursor } from './fastCursor';
import { containerFlags } from './skeleton';

/** Ints per node: type id, start, end, first child (-1), next sibling (-1), field id, flags. */
const STRIDE = 7;
const TYPE = 0;
const START = 1;
const END = 2;
const CHILD = 3;
const NEXT = 4;
const FIELD = 5;
const FLAGS = 6;
const HAS_ERROR = 1;
/** Whether `hasError` was recorded for the node (it is for function definitions). */
const ERROR_KNOWN = 2;

export interface FlatTree {
  /** STRIDE ints per node in document order; node 0 is the root. */
  nodes: Int32Array;
  count: number;
}

/** Flattens what the extraction walks of `tree` (see the file comment). */
export function flattenTree(tree: Tree): FlatTree {
  const c0 = tree.walk();
  const cursor = FastCursor.wrap(c0, tree);
  let nodes = new Int32Array(STRIDE * 4096);
  let count = 0;
  try {
    const names = cursor.typeNames();
    const container = containerFlags(names);
    const functionId = names.indexOf('function_definition');
    const forId = names.indexOf('for_statement');
    const fieldIds = new Map<string, number>();
    (tree.language?.fields ?? []).forEach((f, i) => {
      if (f !== null && !fieldIds.has(f)) fieldIds.set(f, i);
    });
    const fieldIdOf = (): number => {
      const name = cursor.fieldName();
      return name === null ? 0 : fieldIds.get(name) ?? 0;
    };
    // Records the node under the cursor and, for containers, its children; returns its index.
    const record = (fieldWanted: boolean): number => {
      if ((count + 1) * STRIDE > nodes.length) {
        const grown = new Int32Array(nodes.length * 2);
        grown.set(nodes);
        nodes = grown;
      }
      const at = count++;
      const o = at * STRIDE;
      const id = cursor.typeId();
      nodes[o + TYPE] = id;
      nodes[o + START] = cursor.startIndex();
      nodes[o + END] = cursor.endIndex();
      nodes[o + CHILD] = -1;
      nodes[o + NEXT] = -1;
      nodes[o + FIELD] = fieldWanted ? fieldIdOf() : 0;
      nodes[o + FLAGS] = id === functionId ? ERROR_KNOWN | (cursor.hasError() ? HAS_ERROR : 0) : 0;
      const isContainer = id < names.length ? container[id] === 1 : true; // unnamed ids are ERROR
      if (isContainer && cursor.gotoFirstChild()) {
        const wantField = id === forId;
        let prev = -1;
        do {
          const kid = record(wantField);
          if (prev < 0) nodes[o + CHILD] = kid;
          else nodes[prev * STRIDE + NEXT] = kid;
          prev = kid;
        } while (cursor.gotoNextSibling());
        cursor.gotoParent();
      }
      return at;
    };
    record(false);
  } finally {
    cursor.sync();
    c0.delete();
  }
  return { nodes: nodes.slice(0, count * STRIDE), count };
}

/**
 * A WalkCursor over a flat tree. `names` and `fields`: the language's type names (as FastCursor's
 * `typeNames`) and field names by id; every thread loads the same grammar, so ids agree.
 */
export class FlatCursor implements WalkCursor {
  private at = 0;
  private readonly parents: number[] = [];

  constructor(
    private readonly tree: FlatTree,
    private readonly names: readonly string[],
    private readonly fields: readonly (string | null)[],
  ) {}

  gotoFirstChild(): boolean {
    const kid = this.tree.nodes[this.at * STRIDE + CHILD];
    if (kid < 0) return false;
    this.parents.push(this.at);
    this.at = kid;
    return true;
  }
  gotoNextSibling(): boolean {
    const next = this.tree.nodes[this.at * STRIDE + NEXT];
    if (next < 0) return false;
    this.at = next;
    return true;
  }
  gotoParent(): void {
    const p = this.parents.pop();
    if (p !== undefined) this.at = p;
  }
  typeId(): number {
    return this.tree.nodes[this.at * STRIDE + TYPE];
  }
  type(): string {
    return this.names[this.typeId()] ?? 'ERROR';
  }
  typeNames(): readonly string[] {
    return this.names;
  }
  startIndex(): number {
    return this.tree.nodes[this.at * STRIDE + START];
  }
  endIndex(): number {
    return this.tree.nodes[this.at * STRIDE + END];
  }
  fieldName(): string | null {
    const id = this.tree.nodes[this.at * STRIDE + FIELD];
    return id === 0 ? null : this.fields[id] ?? null;
  }
  hasError(): boolean {
    const flags = this.tree.nodes[this.at * STRIDE + FLAGS];
    if ((flags & ERROR_KNOWN) === 0) throw new Error(`kvm-locklint: a flat tree records syntax errors of function definitions only (asked of ${this.type()})`);
    return (flags & HAS_ERROR) !== 0;
  }
  sync(): void {}
}
