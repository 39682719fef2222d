/**
 * C -> FileFacts: functions as CFGs of lock ops, structs, global locks, bindings, suppressions.
 *
 * Statement structure comes from the tree-sitter tree (skeleton.ts); expressions are read from
 * the text (cexpr.ts). Decisions worth knowing:
 * - `FNAME(name)` functions of paging_tmpl.h are named `FNAME(name)`.
 * - Inside function bodies only the first branch of `#if`/`#ifdef`/`#ifndef` is used (no
 *   double counting); at file scope every branch contributes functions, structs and bindings.
 * - Macro iterators (`kvm_for_each_vcpu(...) {`, `for_each_possible_cpu(cpu) {`) are loops;
 *   `scoped_guard(...) {` is a guard scope.
 * - Statement expressions `({ ... })` and brace initializers are read linearly (no branches).
 * - Lock calls inside the arms of `?:` are ignored (calls are kept).
 * - Assign ops are kept only for variables that some branch condition of the function tests.
 */
import type { Tree } from 'web-tree-sitter';
import { createHash } from 'node:crypto';
import { ExprReader, calleeName, strip, tokenize, type Expr } from './cexpr';
import {
  LOCK_KIND_TYPE,
  globalLocksOf,
  readDeclaration,
  readDesignatedBindings,
  namePastingMacros,
  type RawBinding,
  readArrayFunctionBindings,
  isFunctionArray,
  readFunctionHeader,
  readStructs,
  readExports,
  readMacroCalls,
  readSuppressions,
  type RawGlobal,
  type RawStruct,
} from './decl';
import type {
  AccessPath,
  AcquireOp,
  CallOp,
  Block,
  EdgeCondition,
  FieldFunctionBinding,
  FileFacts,
  FlagValue,
  FunctionFacts,
  GlobalLockDef,
  LockKind,
  LockMode,
  Op,
  Param,
  PathBase,
  Range,
  ReleaseOp,
  StructDef,
  StructField,
} from './facts';
import { GFP_ALLOCATORS, gfpBlocks } from '../../model/kvmTypes';
import { guardType, lockApi, spteAtomicArg, spteHelperArg, type LockApi } from './lockApi';
import { STATEMENT_TYPES, skeletonAt, type SNode } from './skeleton';
import { FastCursor, typeNamesOf, type WalkCursor } from './fastCursor';
import { FlatCursor, type FlatTree } from './flatTree';
import { getLanguage } from './parser';
import { adoptRanges, shiftItem, type PositionMapping } from './moves';

// ------------------------------------------------------------------------------------------------
// Positions

export class LineIndex {
  readonly starts: number[];
  constructor(text: string, starts?: number[]) {
    if (starts) {
      this.starts = starts;
      return;
    }
    starts = [0];
    let i = text.indexOf('\n');
    while (i >= 0) {
      starts.push(i + 1);
      i = text.indexOf('\n', i + 1);
    }
    this.starts = starts;
  }
  /** The index of a text whose [lo, newHi) replaced [lo, oldHi) of the text `prev` indexes. */
  static edited(prev: LineIndex, text: string, lo: number, oldHi: number, newHi: number): LineIndex {
    const a = prev.starts;
    let k = 0;
    while (k < a.length && a[k] <= lo) k++;
    // The lines before the edit as they are (one copy, not a push per line), then the new ones.
    const starts = a.slice(0, k);
    for (let i = text.indexOf('\n', lo); i >= 0 && i < newHi; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
    while (k < a.length && a[k] <= oldHi) k++;
    const d = newHi - oldHi;
    for (; k < a.length; k++) starts.push(a[k] + d);
    return new LineIndex(text, starts);
  }
  /** The line of the previous lookup: extraction asks for nearby offsets, mostly in order. */
  private last = 0;
  line(offset: number): number {
    const a = this.starts;
    const k = this.last;
    if (k < a.length && a[k] <= offset) {
      if (k + 1 >= a.length || a[k + 1] > offset) return k;
      if (k + 2 >= a.length || a[k + 2] > offset) return (this.last = k + 1);
    }
    let lo = 0;
    let hi = a.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (a[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    this.last = lo;
    return lo;
  }
  pos(offset: number): { line: number; column: number } {
    const line = this.line(offset);
    return { line, column: offset - this.starts[line] };
  }
  range(s: number, e: number): Range {
    return { start: this.pos(s), end: this.pos(e) };
  }
  offset(line: number, column: number): number {
    if (line < 0) return 0;
    if (line >= this.starts.length) return this.starts[this.starts.length - 1];
    return this.starts[line] + column;
  }
}

// ------------------------------------------------------------------------------------------------
// File context shared by the functions of a file

export interface FileContext {
  file: string;
  text: string;
  lines: LineIndex;
  /** File-scope lock globals by name. */
  globals: Map<string, GlobalLockDef>;
  bindings: FieldFunctionBinding[];
  /** Every global set, in order (file-level runs record what each item contributed). */
  globalLog?: GlobalLockDef[];
  /** The file's name-pasting macros (`#define vt_op(name) vt_##name`), read when first needed. */
  pasteMacros?: Map<string, [string, string][]>;
}

/** The function names a binding's value stands for: itself, or what a name-pasting macro makes of its argument. */
function boundNames(ctx: FileContext, b: RawBinding): string[] {
  if (b.macroArg === undefined) return [b.func];
  const forms = (ctx.pasteMacros ??= namePastingMacros(ctx.text)).get(b.func);
  return forms ? forms.map(([pre, post]) => pre + b.macroArg + post) : [];
}

function setGlobal(ctx: FileContext, def: GlobalLockDef): void {
  ctx.globals.set(def.name, def);
  ctx.globalLog?.push(def);
}

interface LocalInfo {
  type: string;
  pointer: boolean;
  fnptr: boolean;
  alias?: AccessPath;
  /** A function-pointer local read from a struct field (`cui = vcpu->arch.complete_userspace_io`). */
  fnFrom?: Extract<Expr, { t: 'member' }>;
}

interface GuardRelease {
  lock: AccessPath;
  kind: LockKind;
  mode: LockMode;
  api: string;
  /** The guard disabled interrupts (`_irq`/`_irqsave` types): its end restores them. */
  irqsOff?: true;
}

interface Scope {
  id: number;
  guards: GuardRelease[];
}

interface LoopCtx {
  brk: number;
  cont: number | null;
  /** Number of scopes open when the loop/switch started. */
  depth: number;
  /** Loops (not switch, not scoped_guard): what marks a lock op as one per instance. */
  iteration?: Iteration;
}

/** The variables a loop assigns and the lock ops inside it, with the variable each is rooted at. */
interface Iteration {
  assigned: Set<string>;
  lockOps: { op: AcquireOp | ReleaseOp; root: string }[];
}

/** Calls that are not functions worth a CallOp (compiler builtins, annotations, pure macros). */
const NOT_CALLS = new Set([
  'likely', 'unlikely', 'sizeof', 'typeof', '__typeof__', 'offsetof', 'ARRAY_SIZE', 'BIT', 'BIT_ULL', 'min', 'max',
  'min_t', 'max_t', 'clamp', 'IS_ENABLED', 'READ_ONCE', 'WRITE_ONCE', 'container_of', 'asm', '__asm__', 'asm_volatile_goto',
  'lockdep_is_held', 'srcu_read_lock_held', 'rcu_read_lock_held', '__builtin_expect', 'fallthrough', 'return',
  'if', 'while', 'for', 'switch', 'do', 'defined', 'GENMASK', 'GENMASK_ULL', 'BUILD_BUG_ON', '__must_be_array', 'guard',
  'scoped_guard',
]);

/** Wrappers that are transparent for the truth value of a condition. */
const TRANSPARENT_COND = new Set(['likely', 'unlikely', 'WARN_ON', 'WARN_ON_ONCE', 'KVM_BUG_ON', 'WARN_ON_SMP']);

/** Path-preserving helpers: `per_cpu(x, cpu)` is the global x. */
const PATH_THROUGH = new Set([
  'per_cpu', 'per_cpu_ptr', 'this_cpu_ptr', 'raw_cpu_ptr', 'rcu_dereference', 'rcu_dereference_protected',
  'rcu_dereference_check', 'rcu_dereference_raw', 'srcu_dereference', 'srcu_dereference_check', 'READ_ONCE', 'rcu_access_pointer',
]);

// ------------------------------------------------------------------------------------------------

export class FunctionBuilder {
  private blocks: Block[] = [];
  private cur = 0;
  private readonly exit: number;
  private readonly labels = new Map<string, number>();
  private readonly labelScopes = new Map<string, number[]>();
  private readonly loops: LoopCtx[] = [];
  private readonly scopes: Scope[] = [];
  private scopeCounter = 0;
  private readonly condVars = new Set<string>();
  private readonly params = new Map<string, Param & { fnptr: boolean }>();
  /** FunctionFacts.paramFields. */
  private readonly paramFields: NonNullable<FunctionFacts['paramFields']> = [];
  private readonly locals = new Map<string, LocalInfo>();
  private synth = 0;
  /** > 0 while reading the arms of `?:` (lock ops are dropped there). */
  private noLocks = 0;
  private readonly src: string;
  private readonly lines: LineIndex;

  constructor(private readonly ctx: FileContext) {
    this.src = ctx.text;
    this.lines = ctx.lines;
    this.blocks.push({ ops: [], succ: [] }); // entry
    this.exit = this.newBlock();
    this.cur = 0;
  }

  // ---- public entry

  build(fnNode: SNode, prev: SNode | undefined): FunctionFacts | null {
    const body = lastKid(fnNode, 'compound_statement');
    if (!body) return null;
    let headerStart = fnNode.s;
    // `static int __init foo(void)`: tree-sitter ends a declaration at `__init` with a MISSING `;`.
    if (prev && prev.type === 'declaration' && this.src.charCodeAt(prev.e - 1) !== 59 && prev.e <= fnNode.s) headerStart = prev.s;
    const header = readFunctionHeader(this.src, headerStart, body.s);
    if (!header) return null;
    for (const p of header.params) if (p.name) this.params.set(p.name, { ...p });
    this.collectLabelScopes(body, []);
    this.compound(body);
    this.link(this.cur, this.exit);
    this.filterAssigns();
    const params: Param[] = header.params.map((p) => ({ name: p.name, type: p.type, pointer: p.pointer }));
    const annotations: FunctionFacts['annotations'] = [];
    for (const a of header.annotations) if (a.arg) annotations.push({ kind: a.kind, lock: this.path(a.arg) });
    return {
      name: header.name,
      file: this.ctx.file,
      range: this.lines.range(fnNode.s, fnNode.e),
      nameRange: this.lines.range(header.nameS, header.nameE),
      params,
      returnType: header.returnType,
      returnsPointer: header.returnsPointer,
      isStatic: header.isStatic,
      isWeak: header.isWeak,
      annotations,
      blocks: this.blocks,
      entry: 0,
      exit: this.exit,
      hasErrors: false,
      ...(this.paramFields.length ? { paramFields: this.paramFields } : {}),
    };
  }

  /** `range.handler = handler` / `{ .handler = handler }`: a parameter stored in a local's field. */
  private paramStoredInField(variable: string, field: string, value: string): void {
    if (!this.locals.has(variable) || !this.params.has(value)) return;
    if (!this.paramFields.some((f) => f.variable === variable && f.field === field)) this.paramFields.push({ variable, field, param: value });
  }

  // ---- CFG helpers

  private newBlock(): number {
    this.blocks.push({ ops: [], succ: [] });
    return this.blocks.length - 1;
  }

  private link(from: number, to: number, cond?: EdgeCondition): void {
    const succ = this.blocks[from].succ;
    for (const e of succ) if (e.to === to && sameCond(e.cond, cond)) return;
    succ.push(cond ? { to, cond } : { to });
  }

  /** Ends the current block by jumping to `to`; following code is unreachable until a label. */
  private jump(to: number): void {
    this.link(this.cur, to);
    this.cur = this.newBlock();
  }

  private emit(op: Op): void {
    this.blocks[this.cur].ops.push(op);
  }

  private range(s: number, e: number): Range {
    return this.lines.range(s, e);
  }

  private text(s: number, e: number): string {
    const t = this.src.slice(s, e);
    return /\s/.test(t) ? t.replace(/\s+/g, '') : t;
  }

  private labelBlock(name: string): number {
    let b = this.labels.get(name);
    if (b === undefined) {
      b = this.newBlock();
      this.labels.set(name, b);
    }
    return b;
  }

  // ---- scopes and guards

  private collectLabelScopes(n: SNode, chain: number[]): void {
    if (!n.kids) return;
    let inner = chain;
    if (n.type === 'compound_statement') {
      inner = [...chain, ++this.scopeCounter];
      (n as SNode & { scopeId?: number }).scopeId = this.scopeCounter;
    }
    for (const k of n.kids) {
      if (k.type === 'labeled_statement' && k.kids) {
        const id = k.kids.find((x) => x.type === 'statement_identifier');
        if (id) this.labelScopes.set(this.src.slice(id.s, id.e), inner);
      }
      this.collectLabelScopes(k, inner);
    }
  }

  private pushScope(n?: SNode): Scope {
    const id = (n as (SNode & { scopeId?: number }) | undefined)?.scopeId ?? -++this.scopeCounter;
    const sc = { id, guards: [] };
    this.scopes.push(sc);
    return sc;
  }

  private popScope(endS: number, endE: number): void {
    const sc = this.scopes.pop();
    if (sc) this.releaseGuards([sc], endS, endE);
  }

  private releaseGuards(scopes: Scope[], s: number, e: number): void {
    let any = false;
    for (let i = 0; i < scopes.length && !any; i++) any = scopes[i].guards.length > 0;
    if (!any) return;
    const range = this.range(s, e);
    for (let i = scopes.length - 1; i >= 0; i--) {
      const g = scopes[i].guards;
      for (let j = g.length - 1; j >= 0; j--) {
        const r = g[j];
        this.emit({ k: 'release', range, api: r.api, lock: r.lock, kind: r.kind, mode: r.mode, scoped: true, ...(r.irqsOff ? { irqsRestore: true } : {}) });
      }
    }
  }

  // ---- statements

  private compound(n: SNode): void {
    this.pushScope(n);
    this.statements(n.kids ?? [], 1);
    this.popScope(n.e - 1, n.e);
  }

  /** Processes kids[from..] as statements (handles iterator macros followed by a block). */
  private statements(kids: SNode[], from: number): void {
    for (let i = from; i < kids.length; i++) {
      const k = kids[i];
      const next = kids[i + 1];
      if (next && next.type === 'compound_statement') {
        if (this.isMacroHead(k)) {
          this.macroBlock(k.s, k.e, next);
          i++;
          continue;
        }
        // `out_unlock: kvm_for_each_vcpu(i, vcpu, kvm) {`: the label holds the head only.
        const labeled = k.type === 'labeled_statement' ? (k.kids ?? []).filter((x) => STATEMENT_TYPES.has(x.type)) : [];
        const head = labeled[labeled.length - 1];
        if (head && this.isMacroHead(head)) {
          this.label(k);
          for (const s of labeled.slice(0, -1)) this.statement(s);
          this.macroBlock(head.s, head.e, next);
          i++;
          continue;
        }
      }
      this.statement(k);
    }
  }

  /** An expression statement without its `;`: the head of an iterator macro when a block follows. */
  private isMacroHead(n: SNode): boolean {
    return n.type === 'expression_statement' && this.src.charCodeAt(n.e - 1) !== 59 /* ; */;
  }

  /** Starts the block of a labeled statement's label. */
  private label(n: SNode): void {
    const id = (n.kids ?? []).find((x) => x.type === 'statement_identifier');
    if (!id) return;
    const b = this.labelBlock(this.src.slice(id.s, id.e));
    this.link(this.cur, b);
    this.cur = b;
  }

  private statement(n: SNode): void {
    switch (n.type) {
      case 'compound_statement':
        this.compound(n);
        return;
      case 'expression_statement': {
        const end = this.src.charCodeAt(n.e - 1) === 59 ? n.e - 1 : n.e;
        const e = ExprReader.read(this.src, n.s, end);
        if (e) this.evalExpr(e, false);
        return;
      }
      case 'declaration':
        this.declaration(n.s, n.e);
        return;
      case 'return_statement': {
        const e = ExprReader.read(this.src, n.s + 6, this.src.charCodeAt(n.e - 1) === 59 ? n.e - 1 : n.e);
        if (e) this.evalExpr(e, true);
        this.releaseGuards(this.scopes, n.s, n.e);
        const block = this.blocks[this.cur];
        block.returnRange = this.range(n.s, n.e);
        if (e) {
          const value = constValue(e);
          const variable = value === undefined ? this.flagName(e) : undefined;
          if (value !== undefined) block.returnValue = value;
          else if (variable !== undefined) block.returnVar = variable;
        }
        this.jump(this.exit);
        return;
      }
      case 'if_statement':
        this.ifStatement(n);
        return;
      case 'while_statement':
        this.whileStatement(n);
        return;
      case 'do_statement':
        this.doStatement(n);
        return;
      case 'for_statement':
        this.forStatement(n);
        return;
      case 'switch_statement':
        this.switchStatement(n);
        return;
      case 'case_statement':
        this.caseBody(n);
        return;
      case 'labeled_statement': {
        this.label(n);
        for (const s of n.kids ?? []) if (STATEMENT_TYPES.has(s.type)) this.statement(s);
        return;
      }
      case 'attributed_statement':
        for (const k of n.kids ?? []) if (STATEMENT_TYPES.has(k.type)) this.statement(k);
        return;
      case 'goto_statement': {
        const m = /goto\s+([A-Za-z_]\w*)/.exec(this.src.slice(n.s, n.e));
        if (!m) return;
        const target = this.labelBlock(m[1]);
        const chain = this.labelScopes.get(m[1]) ?? [];
        const leaving = this.scopes.filter((s) => !chain.includes(s.id));
        this.releaseGuards(leaving, n.s, n.e);
        this.jump(target);
        return;
      }
      case 'break_statement':
      case 'continue_statement': {
        const isBreak = n.type === 'break_statement';
        for (let i = this.loops.length - 1; i >= 0; i--) {
          const l = this.loops[i];
          const target = isBreak ? l.brk : l.cont;
          if (target === null) continue;
          this.releaseGuards(this.scopes.slice(l.depth), n.s, n.e);
          this.jump(target);
          return;
        }
        return;
      }
      case 'function_definition': {
        // `for_each_possible_cpu(cpu) {` inside a body parses as a nested function definition.
        const body = lastKid(n, 'compound_statement');
        if (body) this.macroBlock(n.s, body.s, body);
        return;
      }
      case 'preproc_if':
      case 'preproc_ifdef':
      case 'preproc_elif':
      case 'preproc_else':
      case 'preproc_elifdef':
        // Inside bodies: the first branch only.
        for (const k of n.kids ?? []) {
          if (k.type === 'preproc_else' || k.type === 'preproc_elif' || k.type === 'preproc_elifdef') break;
          if (STATEMENT_TYPES.has(k.type)) this.statement(k);
        }
        return;
      case 'ERROR':
        this.errorNode(n);
        return;
      default:
        return;
    }
  }

  private errorNode(n: SNode): void {
    const kids = n.kids ?? [];
    for (let i = 0; i < kids.length; i++) {
      const k = kids[i];
      if (k.type === 'expression_statement' && this.src.charCodeAt(k.e - 1) !== 59 && kids[i + 1]?.type === 'compound_statement') {
        this.macroBlock(k.s, k.e, kids[i + 1]);
        i++;
      } else if (STATEMENT_TYPES.has(k.type)) this.statement(k);
      else if (k.type.includes('_') && !k.type.startsWith('preproc')) {
        const e = ExprReader.read(this.src, k.s, k.e);
        if (e) this.evalExpr(e, false);
      }
    }
  }

  /** `iterator(args) statement` (a block or one statement, or none): a loop. */
  private macroLoop(head: Expr | null, body: SNode | undefined): void {
    const h = this.newBlock();
    this.link(this.cur, h);
    this.cur = h;
    const iteration = this.iteratorHead(head);
    const bodyB = this.newBlock();
    const exitB = this.newBlock();
    this.link(this.cur, bodyB);
    this.link(this.cur, exitB);
    this.loops.push({ brk: exitB, cont: h, depth: this.scopes.length, iteration });
    this.cur = bodyB;
    if (body) this.statement(body);
    this.link(this.cur, h);
    this.endIteration(this.loops.pop()!);
    this.cur = exitB;
  }

  /**
   * Evaluates an iterator macro's arguments and returns its iteration, whose cursor variables are
   * every plain name but the last argument, which names the container (`kvm_for_each_vcpu(i,
   * vcpu, kvm)`, `kvm_for_each_memslot(slot, bkt, slots)`) or the member
   * (`list_for_each_entry(pos, head, member)`).
   */
  private iteratorHead(head: Expr | null): Iteration {
    const call = head && strip(head);
    const iteration: Iteration = { assigned: new Set(), lockOps: [] };
    if (call && call.t === 'call') {
      for (const a of call.args) this.evalExpr(a, true);
      const cursors = call.args.length === 1 ? call.args : call.args.slice(0, -1);
      for (const a of cursors) {
        const x = strip(a);
        if (x.t === 'id') iteration.assigned.add(x.name);
      }
    } else if (head) this.evalExpr(head, true);
    return iteration;
  }

  /** `iterator(args) { body }` and `scoped_guard(type, &lock) { body }` (or `scoped_guard(type, &lock) stmt;`). */
  private macroBlock(hs: number, he: number, body: SNode): void {
    const head = ExprReader.read(this.src, hs, he);
    const call = head && strip(head);
    if (call && call.t === 'call' && calleeName(call.fn) === 'scoped_guard') {
      const after = this.newBlock();
      this.pushScope();
      this.loops.push({ brk: after, cont: after, depth: this.scopes.length - 1 });
      this.guard(call, call.args[0], call.args.slice(1));
      if (body.type === 'compound_statement') this.compound(body);
      else this.statement(body);
      this.popScope(body.e - 1, body.e);
      this.loops.pop();
      this.link(this.cur, after);
      this.cur = after;
      return;
    }
    this.macroLoop(head, body);
  }

  private condOf(n: SNode | undefined): Expr | null {
    if (!n) return null;
    return ExprReader.read(this.src, n.s, n.e);
  }

  private ifStatement(n: SNode): void {
    // The first parenthesized expression is the condition; then the first else clause and
    // the first statement among the other kids.
    let condN: SNode | undefined;
    let elseN: SNode | undefined;
    let thenN: SNode | undefined;
    for (const k of n.kids ?? []) {
      const t = k.type;
      if (t === 'if' || t === 'comment') continue;
      if (!condN && t === 'parenthesized_expression') condN = k;
      else if (!elseN && t === 'else_clause') elseN = k;
      else if (!thenN && t !== 'else_clause' && STATEMENT_TYPES.has(t)) thenN = k;
    }
    const T = this.newBlock();
    const F = this.newBlock();
    const cond = this.condOf(condN);
    if (cond) this.cond(cond, T, F);
    else {
      this.link(this.cur, T);
      this.link(this.cur, F);
    }
    const join = elseN ? this.newBlock() : F;
    this.cur = T;
    if (thenN) this.statement(thenN);
    this.link(this.cur, join);
    if (elseN) {
      this.cur = F;
      for (const k of elseN.kids ?? []) if (STATEMENT_TYPES.has(k.type)) this.statement(k);
      this.link(this.cur, join);
    }
    this.cur = join;
  }

  private loopBody(body: SNode | undefined, brk: number, cont: number): void {
    this.loops.push({ brk, cont, depth: this.scopes.length, iteration: { assigned: new Set(), lockOps: [] } });
    if (body) this.statement(body);
    this.endIteration(this.loops.pop()!);
  }

  /** The blocks with an edge to `to` so far. */
  private edgesInto(to: number): number[] {
    const out: number[] = [];
    this.blocks.forEach((b, i) => {
      if (b.succ.some((e) => e.to === to)) out.push(i);
    });
    return out;
  }

  /**
   * A lock op inside a loop that assigns the variable the lock hangs off takes or releases a
   * different instance on each iteration (`kvm_for_each_vcpu(i, vcpu, kvm) { mutex_trylock(&vcpu->mutex) ...`,
   * `vcpu = kvm_get_vcpu(kvm, i); mutex_unlock(&vcpu->mutex);`).
   */
  private endIteration(loop: LoopCtx): void {
    const it = loop.iteration;
    if (!it) return;
    const sweeps: ReleaseOp[] = [];
    for (const { op, root } of it.lockOps) {
      if (!it.assigned.has(root)) continue;
      op.perInstance = true;
      if (op.k === 'release' && !sweeps.some((s) => s.lock.text === op.lock.text)) sweeps.push({ ...op, sweep: true });
    }
    // Only a loop that releases without taking is an unwind of every instance (a loop that takes
    // and releases may keep some, or leave the current one held at a `break`). Every way out of
    // it counts, `break` included: the unwind stops at the last index taken.
    if (sweeps.length === 0 || it.lockOps.some(({ op, root }) => op.k === 'acquire' && it.assigned.has(root))) return;
    const exits = this.edgesInto(loop.brk);
    if (exits.length === 0) return;
    const sweep = this.newBlock();
    this.blocks[sweep].ops.push(...sweeps);
    for (const from of exits) for (const e of this.blocks[from].succ) if (e.to === loop.brk) e.to = sweep;
    this.link(sweep, loop.brk);
  }

  /** Notes an assignment of `name` in every loop around this point. */
  private assignedInLoops(name: string): void {
    for (const l of this.loops) l.iteration?.assigned.add(name);
  }

  private whileStatement(n: SNode): void {
    const kids = n.kids ?? [];
    const condN = kids.find((k) => k.type === 'parenthesized_expression');
    const body = kids.find((k) => k !== condN && STATEMENT_TYPES.has(k.type));
    // An iterator macro the parser was shown as `while` (annotations.ts parserText).
    if (condN && !this.src.startsWith('while', n.s)) {
      if (body && (body.type === 'compound_statement' || this.src.startsWith('scoped_guard', n.s))) this.macroBlock(n.s, condN.e, body);
      else this.macroLoop(ExprReader.read(this.src, n.s, condN.e), body);
      return;
    }
    const h = this.newBlock();
    this.link(this.cur, h);
    this.cur = h;
    const bodyB = this.newBlock();
    const exitB = this.newBlock();
    const cond = this.condOf(condN);
    if (cond) this.cond(cond, bodyB, exitB);
    else {
      this.link(this.cur, bodyB);
      this.link(this.cur, exitB);
    }
    this.cur = bodyB;
    this.loopBody(body, exitB, h);
    this.link(this.cur, h);
    this.cur = exitB;
  }

  private doStatement(n: SNode): void {
    const kids = n.kids ?? [];
    const condN = kids.find((k) => k.type === 'parenthesized_expression');
    const body = kids.find((k) => k !== condN && STATEMENT_TYPES.has(k.type));
    const bodyB = this.newBlock();
    const condB = this.newBlock();
    const exitB = this.newBlock();
    this.link(this.cur, bodyB);
    this.cur = bodyB;
    this.loopBody(body, exitB, condB);
    this.link(this.cur, condB);
    this.cur = condB;
    const cond = this.condOf(condN);
    if (cond) this.cond(cond, bodyB, exitB);
    else {
      this.link(this.cur, bodyB);
      this.link(this.cur, exitB);
    }
    this.cur = exitB;
  }

  private forStatement(n: SNode): void {
    const kids = n.kids ?? [];
    const init = kids.find((k) => k.field === 'initializer');
    const condN = kids.find((k) => k.field === 'condition');
    const update = kids.filter((k) => k.field === 'update');
    const body = kids.find((k) => k.field === 'body');
    if (init) {
      if (init.type === 'declaration') this.declaration(init.s, init.e);
      else {
        const e = ExprReader.read(this.src, init.s, init.e);
        if (e) this.evalExpr(e, false);
      }
    }
    const h = this.newBlock();
    this.link(this.cur, h);
    this.cur = h;
    const bodyB = this.newBlock();
    const exitB = this.newBlock();
    const updB = this.newBlock();
    const cond = this.condOf(condN);
    if (cond) this.cond(cond, bodyB, exitB);
    else this.link(this.cur, bodyB); // for (;;)
    this.cur = bodyB;
    this.loopBody(body, exitB, updB);
    this.link(this.cur, updB);
    this.cur = updB;
    for (const u of update) {
      const e = ExprReader.read(this.src, u.s, u.e);
      if (e) this.evalExpr(e, false);
    }
    this.link(this.cur, h);
    this.cur = exitB;
  }

  private switchStatement(n: SNode): void {
    const kids = n.kids ?? [];
    const condN = kids.find((k) => k.type === 'parenthesized_expression');
    const body = kids.find((k) => k.type === 'compound_statement');
    const cond = this.condOf(condN);
    if (cond) this.evalExpr(cond, true);
    const head = this.cur;
    const exitB = this.newBlock();
    this.loops.push({ brk: exitB, cont: null, depth: this.scopes.length });
    let hasDefault = false;
    if (body) {
      this.pushScope(body);
      this.cur = this.newBlock(); // code before the first case is unreachable
      const bk = body.kids ?? [];
      for (let i = 1; i < bk.length; i++) {
        const k = bk[i];
        if (k.type === 'case_statement') {
          const b = this.newBlock();
          this.link(this.cur, b); // fall-through
          this.link(head, b);
          if (this.src.startsWith('default', k.s)) hasDefault = true;
          this.cur = b;
          this.caseBody(k);
        } else if (k.type === 'expression_statement' && this.src.charCodeAt(k.e - 1) !== 59 && bk[i + 1]?.type === 'compound_statement') {
          this.macroBlock(k.s, k.e, bk[i + 1]);
          i++;
        } else this.statement(k);
      }
      this.popScope(body.e - 1, body.e);
    }
    if (!hasDefault) this.link(head, exitB);
    this.link(this.cur, exitB);
    this.loops.pop();
    this.cur = exitB;
  }

  /** The statements of a `case X:` / `default:` (after the colon). */
  private caseBody(n: SNode): void {
    const kids = n.kids ?? [];
    let i = 0;
    while (i < kids.length && kids[i].type !== ':') i++;
    this.statements(kids, i + 1);
  }

  // ---- declarations

  private declaration(s: number, e: number): void {
    const d = readDeclaration(this.src, s, e);
    if (!d) return;
    if (d.macro) {
      for (const g of globalLocksOf(d, s, e)) this.addGlobal(g);
      return;
    }
    for (const x of d.declarators) {
      const info: LocalInfo = { type: d.type, pointer: x.pointer, fnptr: x.fnptr };
      this.locals.set(x.name, info);
      if (!x.init) continue;
      const init = strip(x.init);
      if (init.t === 'block' && !init.stmtExpr) {
        for (const b of readDesignatedBindings(this.src, init.innerS, init.innerE)) {
          if (b.macroArg !== undefined) continue;
          const v = b.func === 'true' ? 'nonzero' : b.func === 'false' || b.func === 'NULL' ? 'zero' : undefined;
          if (v) {
            // `struct result r = { .found_memslot = false }`: a flag initialised by designator.
            this.emit({ k: 'assign', range: this.range(b.s, b.e), api: '=', variable: `${x.name}.${b.field}`, value: v });
            continue;
          }
          if (/^[A-Z0-9_]+$/.test(b.func)) continue;
          if (this.params.has(b.func)) {
            this.paramStoredInField(x.name, b.field, b.func);
            continue;
          }
          this.ctx.bindings.push({ structType: d.type || undefined, variable: x.name, field: b.field, func: b.func, range: this.range(b.s, b.e) });
        }
        if (isFunctionArray(d, x)) {
          for (const b of readArrayFunctionBindings(this.src, init.innerS, init.innerE)) {
            if (this.locals.has(b.func) || this.params.has(b.func)) continue; // `{ addr, size }`: values, not functions
            this.ctx.bindings.push({ structType: undefined, variable: x.name, field: '[]', func: b.func, range: this.range(b.s, b.e) });
          }
        }
      }
      this.evalAssignValue(x.name, x.init, '=');
      this.assignedInLoops(x.name);
      if (x.fnptr) info.fnFrom = fieldRead(x.init);
      if (x.pointer && !x.fnptr) {
        const alias = this.aliasTarget(x.init);
        if (alias) info.alias = alias;
      }
    }
    if (/^\s*static\b/.test(this.src.slice(s, Math.min(e, s + 12)))) for (const g of globalLocksOf(d, s, e)) this.addGlobal(g);
  }

  private addGlobal(g: RawGlobal): void {
    const def: GlobalLockDef = { name: g.name, kind: g.kind, perCpu: g.perCpu, range: this.range(g.s, g.e) };
    setGlobal(this.ctx, def);
    this.locals.delete(g.name);
  }

  /** `&X`, `X` (a field path) or `helper(path)` as the value of a pointer local. */
  private aliasTarget(init: Expr): AccessPath | undefined {
    const e = strip(init);
    if (e.t === 'unary' && e.op === '&') {
      const p = this.path(e.arg);
      return p.base.kind === 'unknown' ? undefined : p;
    }
    if (e.t === 'member') {
      const p = this.path(e);
      return p.base.kind === 'unknown' ? undefined : p;
    }
    if (e.t === 'call') {
      const name = calleeName(e.fn);
      if (!name || lockApi(name) || e.args.length === 0) return undefined;
      const p = this.path(e);
      return p.base.kind === 'call' || p.base.kind === 'global' ? p : undefined;
    }
    return undefined;
  }

  // ---- access paths

  /** Reduces a lock/argument expression to an access path (aliases substituted). */
  path(expr: Expr): AccessPath {
    let e = strip(expr);
    while (e.t === 'unary' && (e.op === '&' || e.op === '*')) e = strip(e.arg);
    const text = this.text(e.s, e.e);
    const core = this.pathCore(e);
    if (!core) return { text, base: { kind: 'unknown' }, fields: [] };
    const out: AccessPath = { text, base: core.base, fields: core.fields };
    if (core.alias !== undefined) out.alias = core.alias;
    return out;
  }

  private pathCore(expr: Expr): Omit<AccessPath, 'text'> | null {
    const e = strip(expr);
    switch (e.t) {
      case 'unary':
        return e.op === '&' || e.op === '*' ? this.pathCore(e.arg) : null;
      case 'id':
        return this.resolveName(e.name);
      case 'member': {
        const c = this.pathCore(e.obj);
        if (!c) return null;
        const fields = [...c.fields, e.field];
        const out: Omit<AccessPath, 'text'> = { base: c.base, fields };
        if (c.alias) out.alias = { ...c.alias, fields: [...c.alias.fields, e.field] };
        return out;
      }
      case 'index':
        return this.pathCore(e.obj);
      case 'call': {
        const name = calleeName(e.fn);
        if (!name) return null;
        if (PATH_THROUGH.has(name)) return e.args[0] ? this.pathCore(e.args[0]) : null;
        if (name === 'container_of' && e.args.length >= 2) {
          const m = /(?:struct|union)\s+(\w+)/.exec(this.src.slice(e.args[1].s, e.args[1].e));
          const arg = this.path(e.args[0]);
          return { base: { kind: 'call', callee: name, arg, type: m?.[1] }, fields: [] };
        }
        const base: PathBase = { kind: 'call', callee: name };
        if (e.args[0]) base.arg = this.path(e.args[0]);
        return { base, fields: [] };
      }
      default:
        return null;
    }
  }

  private resolveName(name: string): Omit<AccessPath, 'text'> {
    const p = this.params.get(name);
    if (p) return { base: { kind: 'var', name, type: p.type || undefined }, fields: [] };
    const l = this.locals.get(name);
    if (l) {
      if (l.alias) {
        return {
          base: l.alias.base,
          fields: [...l.alias.fields],
          alias: { name, type: l.type || undefined, fields: [] },
        };
      }
      return { base: { kind: 'var', name, type: l.type || undefined }, fields: [] };
    }
    const g = this.ctx.globals.get(name);
    if (g) return { base: { kind: 'global', name, type: LOCK_KIND_TYPE[g.kind] }, fields: [] };
    if (name === 'current') return { base: { kind: 'global', name, type: 'task_struct' }, fields: [] };
    return { base: { kind: 'global', name }, fields: [] };
  }

  /** A plain variable or field path usable as a flag name (`locked`, `r.found_memslot`), or undefined. */
  private flagName(expr: Expr): string | undefined {
    const e = strip(expr);
    if (e.t === 'id') return /^[A-Z_][A-Z0-9_]*$/.test(e.name) && e.name.length > 1 ? undefined : e.name;
    if (e.t === 'member') {
      const o = this.flagName(e.obj);
      return o === undefined ? undefined : o + (e.arrow ? '->' : '.') + e.field;
    }
    return undefined;
  }

  // ---- conditions

  private cond(expr: Expr, T: number, F: number): void {
    const e = strip(expr);
    if (e.t === 'unary' && e.op === '!') return this.cond(e.arg, F, T);
    if (e.t === 'binary' && (e.op === '&&' || e.op === '||')) {
      const mid = this.newBlock();
      if (e.op === '&&') this.cond(e.l, mid, F);
      else this.cond(e.l, T, mid);
      this.cur = mid;
      return this.cond(e.r, T, F);
    }
    if (e.t === 'seq') {
      for (let i = 0; i < e.items.length - 1; i++) this.evalExpr(e.items[i], false);
      return this.cond(e.items[e.items.length - 1], T, F);
    }
    if (e.t === 'call') {
      const name = calleeName(e.fn);
      if (name && TRANSPARENT_COND.has(name) && e.args[0]) {
        for (let i = 1; i < e.args.length; i++) this.evalExpr(e.args[i], true);
        return this.cond(e.args[0], T, F);
      }
    }
    if (e.t === 'binary' && (e.op === '==' || e.op === '!=')) {
      const lz = constValue(e.l) === 'zero';
      const rz = constValue(e.r) === 'zero';
      if (lz || rz) {
        const other = rz ? e.l : e.r;
        return e.op === '==' ? this.cond(other, F, T) : this.cond(other, T, F);
      }
    }
    if (e.t === 'binary' && e.op === '<' && constValue(e.r) === 'zero') return this.cond(e.l, T, F);
    // An atom.
    const v = this.condAtom(e);
    if (v) {
      this.condVars.add(v);
      this.link(this.cur, T, { variable: v, value: 'nonzero' });
      this.link(this.cur, F, { variable: v, value: 'zero' });
    } else {
      this.link(this.cur, T);
      this.link(this.cur, F);
    }
  }

  /** Emits the atom's ops; returns the variable its truth value is, if any. */
  private condAtom(e: Expr): string | undefined {
    if (e.t === 'call') {
      const name = calleeName(e.fn);
      const api = name ? lockApi(name) : undefined;
      if (api && api.op === 'acquire' && api.cond) {
        const v = `$${++this.synth}`;
        this.handleCall(e, true, v);
        return v;
      }
      if (!api && name !== undefined && strip(e.fn).t === 'id' && !NOT_CALLS.has(name) && !TRANSPARENT_COND.has(name)) {
        const v = `$${++this.synth}`;
        this.handleCall(e, true, v);
        return v;
      }
      this.evalExpr(e, true);
      return undefined;
    }
    if (e.t === 'assign' && e.op === '=') {
      this.evalExpr(e, true);
      return this.flagName(e.l);
    }
    const f = this.flagName(e);
    if (f !== undefined) return f;
    this.evalExpr(e, true);
    return undefined;
  }

  // ---- expressions

  private evalExpr(expr: Expr, used: boolean): void {
    const e = expr;
    switch (e.t) {
      case 'call':
        this.handleCall(e, used);
        return;
      case 'assign':
        this.evalAssign(e);
        return;
      case 'binary':
        this.evalExpr(e.l, true);
        this.evalExpr(e.r, true);
        return;
      case 'cond':
        this.evalExpr(e.c, true);
        this.noLocks++;
        this.evalExpr(e.a, used);
        this.evalExpr(e.b, used);
        this.noLocks--;
        return;
      case 'unary':
        this.evalExpr(e.arg, true);
        if (e.op === '++' || e.op === '--') this.assignTo(e.arg, undefined);
        return;
      case 'postfix':
        this.evalExpr(e.arg, true);
        this.assignTo(e.arg, undefined);
        return;
      case 'member':
        this.evalExpr(e.obj, true);
        return;
      case 'index':
        this.evalExpr(e.obj, true);
        this.evalExpr(e.idx, true);
        return;
      case 'paren':
        this.evalExpr(e.inner, used);
        return;
      case 'cast':
        this.evalExpr(e.arg, used && e.type !== 'void');
        return;
      case 'seq':
        for (let i = 0; i < e.items.length; i++) this.evalExpr(e.items[i], used && i === e.items.length - 1);
        return;
      case 'block':
        this.evalBlock(e.innerS, e.innerE, e.stmtExpr);
        return;
      default:
        return;
    }
  }

  /** Statement expressions and brace initializers: read linearly, declarations included. */
  private evalBlock(s: number, e: number, stmtExpr: boolean): void {
    if (!stmtExpr) {
      const x = ExprReader.read(this.src, s, e);
      if (x) this.evalExpr(x, true);
      return;
    }
    const toks = tokenize(this.src, s, e);
    let start = 0;
    let depth = 0;
    for (let i = 0; i <= toks.length; i++) {
      const t = toks[i];
      if (t && t.k === 'p') {
        if (t.v === '(' || t.v === '[' || t.v === '{') depth++;
        else if (t.v === ')' || t.v === ']' || t.v === '}') depth--;
      }
      if (i === toks.length || (depth === 0 && t.k === 'p' && t.v === ';')) {
        if (i > start) {
          const a = toks[start];
          const b = toks[i - 1];
          const next = toks[start + 1];
          if (a.k === 'id' && next && (next.k === 'id' || (next.v === '*' && toks[start + 2]?.k === 'id'))) this.declaration(a.s, b.e);
          else {
            const x = new ExprReader(this.src, toks.slice(start, i)).readAll();
            if (x) this.evalExpr(x, true);
          }
        }
        start = i + 1;
      }
    }
  }

  private evalAssign(e: Extract<Expr, { t: 'assign' }>): void {
    const l = strip(e.l);
    // Sub-expressions of the target that compute something (`foo(x)->y = ...`).
    if (l.t === 'member') this.evalExpr(l.obj, true);
    else if (l.t === 'index') {
      this.evalExpr(l.obj, true);
      this.evalExpr(l.idx, true);
    } else if (l.t === 'unary') this.evalExpr(l.arg, true);
    // SPTE stores.
    const target = this.spteStoreTarget(l);
    const name = this.flagName(l);
    this.evalAssignValue(name, e.r, e.op);
    if (target !== undefined) {
      this.emit({ k: 'spte', range: this.range(e.s, e.e), api: '=', access: 'store', target, value: this.text(e.r.s, e.r.e) });
    }
    // Bindings: `x.f = func`, `x->f = func`.
    if (l.t === 'member') {
      const r = strip(e.r);
      const fn = r.t === 'id' ? r.name : r.t === 'unary' && r.op === '&' && strip(r.arg).t === 'id' ? (strip(r.arg) as { name: string }).name : undefined;
      const obj = strip(l.obj);
      if (fn && obj.t === 'id') this.paramStoredInField(obj.name, l.field, fn);
      if (fn && !this.locals.has(fn) && !this.params.has(fn) && !/^[A-Z0-9_]+$/.test(fn) && fn !== 'true' && fn !== 'false') {
        const base = this.path(l.obj);
        // A local pointer initialised from a path (`struct kvm_mmu *context = vcpu->arch.mmu;`)
        // is substituted by that path; its declared type still names the table.
        const aliasType = base.alias && base.alias.fields.length === 0 ? base.alias.type : undefined;
        const structType =
          aliasType ?? (base.fields.length === 0 && (base.base.kind === 'var' || base.base.kind === 'global') ? base.base.type : undefined);
        const binding: FieldFunctionBinding = { structType, variable: this.text(l.obj.s, l.obj.e), field: l.field, func: fn, range: this.range(e.s, e.e) };
        if (structType === undefined) binding.obj = base;
        this.ctx.bindings.push(binding);
      }
    }
    // Pointer aliases re-assigned: `ka = &kvm->arch;`
    if (l.t === 'id' && e.op === '=') {
      this.assignedInLoops(l.name);
      const info = this.locals.get(l.name);
      if (info?.fnptr) info.fnFrom = fieldRead(e.r);
      if (info && info.pointer && !info.fnptr) info.alias = this.aliasTarget(e.r);
    }
  }

  /** Evaluates the value of `name OP= value` and records the flag assignment. */
  private evalAssignValue(name: string | undefined, value: Expr, op: string): void {
    const v = strip(value);
    if (op === '=' && name !== undefined && v.t === 'call') {
      const cn = calleeName(v.fn);
      const api = cn ? lockApi(cn) : undefined;
      if (api && api.op === 'acquire' && api.cond) {
        // `r = mutex_lock_killable(...)`: the acquire itself records r.
        this.handleCall(v, true, name);
        return;
      }
      if (!api && cn !== undefined && strip(v.fn).t === 'id') {
        // `r = f(...)`: r is unknown from here, unless f's net effect says what its result means.
        this.assignTo(null, undefined, name, value);
        this.handleCall(v, true, name);
        return;
      }
    }
    this.evalExpr(value, true);
    if (name !== undefined) this.assignTo(null, op === '=' ? constValue(value) : undefined, name, value);
  }

  private assignTo(target: Expr | null, value: FlagValue | undefined, name?: string, at?: Expr): void {
    const n = name ?? (target ? this.flagName(target) : undefined);
    if (n === undefined) return;
    const where = target ?? at;
    const r = where ? this.range(where.s, where.e) : this.range(0, 0);
    const op: Op = { k: 'assign', range: r, api: '=', variable: n };
    if (value !== undefined) op.value = value;
    this.emit(op);
  }

  /** Drops assign ops on variables no branch condition tests (keeps facts small). */
  private filterAssigns(): void {
    for (const b of this.blocks) {
      if (!b.ops.some((o) => o.k === 'assign')) continue;
      b.ops = b.ops.filter((o) => o.k !== 'assign' || this.condVars.has(o.variable));
    }
  }

  // ---- calls

  private handleCall(e: Extract<Expr, { t: 'call' }>, used: boolean, resultVar?: string): void {
    const fn = strip(e.fn);
    const range = this.range(e.s, e.e);
    // guard(type)(&lock)
    if (fn.t === 'call') {
      const inner = calleeName(fn.fn);
      if (inner === 'guard') {
        this.guard(e, fn.args[0], e.args);
        return;
      }
      if (inner === 'kvm_x86_call' || inner === 'static_call' || inner === 'static_call_cond' || inner === 'kvm_pmu_call') {
        for (const a of e.args) this.evalExpr(a, true);
        const opName = fn.args[0] ? this.text(fn.args[0].s, fn.args[0].e) : '?';
        let table = inner === 'kvm_pmu_call' ? 'kvm_pmu_ops' : 'kvm_x86_ops';
        let field = opName;
        if (inner.startsWith('static_call')) {
          const m = /^(kvm_x86|kvm_pmu)_(\w+)$/.exec(opName);
          if (m) {
            table = m[1] === 'kvm_pmu' ? 'kvm_pmu_ops' : 'kvm_x86_ops';
            field = m[2];
          } else table = '';
        }
        this.emit({
          k: 'call',
          range,
          api: inner,
          callee: table ? `${table}.${field}` : field,
          indirect: { table: table || undefined, field, text: this.text(e.fn.s, e.fn.e) },
          args: this.argPaths(e.args),
        });
        return;
      }
      this.evalExpr(fn, true);
    }
    // Arguments are evaluated before the call.
    const name = fn.t === 'id' ? fn.name : undefined;
    const api = name ? lockApi(name) : undefined;
    if (api && (api.op === 'assert')) {
      this.lockOp(name!, api, e, range, resultVar);
      return;
    }
    for (const a of e.args) this.evalExpr(a, true);
    if (name && api) {
      this.lockOp(name, api, e, range, resultVar);
      return;
    }
    // `handlers[i](vcpu)`, `(*handlers[i])(vcpu)`: a call through an array of function pointers.
    const arr = fn.t === 'unary' && fn.op === '*' ? strip(fn.arg) : fn;
    if (arr.t === 'index' && strip(arr.obj).t === 'id') {
      const table = (strip(arr.obj) as { name: string }).name;
      this.evalExpr(arr.idx, true);
      const text = this.text(e.fn.s, e.fn.e);
      this.emit({ k: 'call', range, api: text, callee: `${table}[]`, indirect: { table, field: '[]', text }, args: this.argPaths(e.args) });
      return;
    }
    if (fn.t === 'member' || (fn.t === 'unary' && fn.op === '*')) {
      this.indirectCall(e, fn, range);
      return;
    }
    if (!name) return;
    if (name === 'WRITE_ONCE' || name === '__WRITE_ONCE') {
      const t = e.args[0] ? this.spteStoreTarget(strip(e.args[0])) : undefined;
      if (t !== undefined) this.emit({ k: 'spte', range, api: name, access: 'store', target: t, value: e.args[1] ? this.text(e.args[1].s, e.args[1].e) : undefined });
      return;
    }
    const h = spteHelperArg(name);
    if (h !== undefined) {
      const arg = e.args[h] ?? e.args[0];
      this.emit({ k: 'spte', range, api: name, access: 'helper', helper: name, target: arg ? this.text(arg.s, arg.e) : '', resultUsed: used, args: e.args.map((x) => this.text(x.s, x.e)) });
    } else {
      const a = spteAtomicArg(name);
      if (a !== undefined && e.args[a] && this.isSptePtr(e.args[a])) {
        const arg = e.args[a];
        this.emit({ k: 'spte', range, api: name, access: 'helper', helper: name, target: this.text(arg.s, arg.e), resultUsed: used, args: e.args.map((x) => this.text(x.s, x.e)) });
      }
    }
    if (NOT_CALLS.has(name)) return;
    const p = this.params.get(name);
    const l = this.locals.get(name);
    // A local function pointer read from a field calls what that field holds.
    if (l?.fnFrom && !p) return this.indirectCall(e, l.fnFrom, range);
    if ((p && p.fnptr) || (l && l.fnptr)) {
      const indirect: NonNullable<CallOp['indirect']> = { field: name, text: name };
      if (p?.fnptr && !l) indirect.param = true;
      this.emit({ k: 'call', range, api: name, callee: name, indirect, args: this.argPaths(e.args) });
      return;
    }
    const call: CallOp = { k: 'call', range, api: name, callee: name, args: this.argPaths(e.args) };
    if (!used) call.discarded = true;
    if (resultVar !== undefined) call.resultVar = resultVar;
    const gfpAt = GFP_ALLOCATORS.get(name);
    const gfp = gfpAt !== undefined ? e.args[gfpAt] : undefined;
    if (gfp) {
      const flags = this.text(gfp.s, gfp.e).trim();
      if (gfpBlocks(flags)) call.blockingGfp = flags;
    }
    const locals = this.localAddresses(e.args);
    if (locals) call.localAddresses = locals;
    this.emit(call);
  }

  /** Bit i set when argument i is `&x` of a variable declared in this function (0 when none). */
  private localAddresses(args: Expr[]): number {
    let bits = 0;
    for (let i = 0; i < args.length && i < 31; i++) {
      const a = strip(args[i]);
      if (a.t !== 'unary' || a.op !== '&') continue;
      const x = strip(a.arg);
      if (x.t === 'id' && this.locals.has(x.name)) bits |= 1 << i;
    }
    return bits;
  }

  private indirectCall(e: Extract<Expr, { t: 'call' }>, fn: Expr, range: Range): void {
    let f = fn;
    if (f.t === 'unary') f = strip(f.arg);
    if (f.t === 'member') {
      this.evalExpr(f.obj, true);
      const obj = this.path(f.obj);
      let table: string | undefined;
      if (obj.fields.length === 0 && obj.base.kind === 'global' && obj.base.name === 'kvm_x86_ops') table = 'kvm_x86_ops';
      else if (obj.base.kind === 'global' && obj.base.name === 'kvm_x86_ops' && obj.fields.join('.') === 'nested_ops') table = 'kvm_x86_nested_ops';
      else if (obj.fields.length === 0 && (obj.base.kind === 'var' || obj.base.kind === 'global')) table = obj.base.type;
      else if (obj.alias && obj.alias.fields.length === 0) table = obj.alias.type;
      const text = this.text(fn.s, fn.e);
      const indirect: NonNullable<CallOp['indirect']> = table ? { table, field: f.field, text } : { field: f.field, text, obj };
      if (obj.fields.length === 0 && !obj.alias && obj.base.kind === 'var' && this.params.has(obj.base.name)) indirect.objParam = obj.base.name;
      this.emit({ k: 'call', range, api: text, callee: `${table ?? obj.text}.${f.field}`, indirect, args: this.argPaths(e.args) });
      return;
    }
    if (f.t === 'id') {
      // A local function pointer read from a field calls what that field holds.
      const from = this.locals.get(f.name)?.fnFrom;
      if (from) return this.indirectCall(e, from, range);
      this.emit({ k: 'call', range, api: f.name, callee: f.name, indirect: { field: f.name, text: f.name }, args: this.argPaths(e.args) });
    }
  }

  private argPaths(args: Expr[]): (AccessPath | null)[] {
    const out: (AccessPath | null)[] = [];
    for (const a of args) {
      let x = strip(a);
      while (x.t === 'unary' && (x.op === '&' || x.op === '*')) x = strip(x.arg);
      if (x.t === 'id' || x.t === 'member' || x.t === 'index' || (x.t === 'call' && PATH_THROUGH.has(calleeName(x.fn) ?? ''))) {
        if (x.t === 'id' && isConstantName(x.name)) out.push(null);
        else out.push(this.path(a));
      } else out.push(null);
    }
    return out;
  }

  /** Records a lock op with the local variable its lock hangs off in every loop around it. */
  private lockOpInLoops(op: AcquireOp | ReleaseOp): void {
    if (this.loops.length === 0) return;
    const p = op.lock;
    const root = p.alias?.name ?? (p.base.kind === 'var' ? p.base.name : undefined);
    if (root === undefined) return;
    for (const l of this.loops) l.iteration?.lockOps.push({ op, root });
  }

  private lockOp(name: string, api: LockApi, e: Extract<Expr, { t: 'call' }>, range: Range, resultVar?: string): void {
    if (this.noLocks > 0 && api.op !== 'assert') return;
    const lockPath = (): AccessPath => {
      if ('pseudo' in api && api.pseudo) return { text: api.pseudo, base: { kind: 'pseudo', name: api.pseudo }, fields: [] };
      const idx = 'lockArg' in api ? api.lockArg ?? 0 : 0;
      const arg = e.args[idx];
      if (!arg) return { text: '', base: { kind: 'unknown' }, fields: [] };
      const p = this.path(arg);
      const suffix = 'suffix' in api ? api.suffix : undefined;
      if (suffix) {
        p.fields = [...p.fields, ...suffix];
        p.text = p.text + (p.text ? '->' : '') + suffix.join('->');
        if (p.alias) p.alias = { ...p.alias, fields: [...p.alias.fields, ...suffix] };
      }
      return p;
    };
    switch (api.op) {
      case 'acquire': {
        const op: AcquireOp = { k: 'acquire', range, api: name, lock: lockPath(), kind: api.kind, mode: api.mode };
        if (api.irqsOff) op.irqsOff = true;
        if (api.nested) op.nested = true;
        if (api.cond) {
          op.resultVar = resultVar ?? `$${++this.synth}`;
          op.heldWhen = api.cond === 'try' ? 'nonzero' : 'zero';
        }
        this.emit(op);
        this.lockOpInLoops(op);
        return;
      }
      case 'release': {
        const lock = lockPath();
        const op: ReleaseOp = { k: 'release', range, api: name, lock, kind: api.kind, mode: api.mode, ...(api.irqsRestore ? { irqsRestore: true } : {}) };
        this.emit(op);
        this.lockOpInLoops(op);
        if (name === 'downgrade_write') this.emit({ k: 'acquire', range, api: name, lock, kind: 'rwsem', mode: 'read' });
        return;
      }
      case 'dropRetake':
        this.emit({ k: 'dropRetake', range, api: name, lock: lockPath(), kind: api.kind, mode: api.mode });
        return;
      case 'sync':
        this.emit({ k: 'sync', range, api: name, domain: lockPath() });
        return;
      case 'context':
        this.emit({ k: api.k, range, api: name });
        return;
      case 'assert': {
        if (api.conditional) {
          const c = e.args[0];
          if (!c) return;
          const weak = containsOr(c);
          this.collectHeldChecks(c, range, name, weak);
          return;
        }
        let mode: 'any' | LockMode = api.mode;
        if (api.modeArg !== undefined) {
          const v = e.args[api.modeArg] ? constValue(e.args[api.modeArg]) : undefined;
          mode = v === 'nonzero' ? 'read' : v === 'zero' ? 'write' : 'any';
        }
        this.emit({ k: 'assert', range, api: name, lock: lockPath(), mode, ...(api.negated ? { negated: true } : {}) });
        return;
      }
    }
  }

  /** lockdep_is_held(&x) inside `lockdep_assert_once(cond)`. */
  private collectHeldChecks(e: Expr, range: Range, api: string, weak: boolean): void {
    const x = strip(e);
    if (x.t === 'call' && calleeName(x.fn) === 'lockdep_is_held' && x.args[0]) {
      this.emit({ k: 'assert', range, api, lock: this.path(x.args[0]), mode: 'any', ...(weak ? { weak: true } : {}) });
      return;
    }
    if (x.t === 'call' && calleeName(x.fn) === 'srcu_read_lock_held' && x.args[0]) {
      this.emit({ k: 'assert', range, api, lock: this.path(x.args[0]), mode: 'read', ...(weak ? { weak: true } : {}) });
      return;
    }
    if (x.t === 'binary') {
      this.collectHeldChecks(x.l, range, api, weak);
      this.collectHeldChecks(x.r, range, api, weak);
    } else if (x.t === 'unary' && x.op === '!') {
      // `!lockdep_is_held(x)` is not a requirement.
    } else if (x.t === 'call') for (const a of x.args) this.collectHeldChecks(a, range, api, weak);
  }

  private guard(e: Expr, typeArg: Expr | undefined, lockArgs: Expr[]): void {
    const typeName = typeArg ? this.text(typeArg.s, typeArg.e) : '';
    const g = guardType(typeName);
    const api = `guard(${typeName})`;
    const range = this.range(e.s, e.e);
    let lock: AccessPath;
    if (g.pseudo) lock = { text: g.pseudo, base: { kind: 'pseudo', name: g.pseudo }, fields: [] };
    else if (lockArgs[0]) lock = this.path(lockArgs[0]);
    else lock = { text: '', base: { kind: 'unknown' }, fields: [] };
    if (this.noLocks > 0) return;
    const op: AcquireOp = { k: 'acquire', range, api, lock, kind: g.kind, mode: g.mode, scoped: true };
    if (g.irqsOff) op.irqsOff = true;
    if (g.nested) op.nested = true;
    this.emit(op);
    const sc = this.scopes[this.scopes.length - 1];
    if (sc) sc.guards.push({ lock, kind: g.kind, mode: g.mode, api, ...(g.irqsOff ? { irqsOff: true as const } : {}) });
  }

  // ---- SPTE heuristics

  private isSptePtr(expr: Expr): boolean {
    const e = strip(expr);
    switch (e.t) {
      case 'id': {
        if (e.name === 'sptep' || e.name.endsWith('_sptep')) return true;
        if (e.name === 'spte' || e.name.endsWith('_spte')) {
          const d = this.params.get(e.name) ?? this.locals.get(e.name);
          return !!d && d.pointer;
        }
        return false;
      }
      case 'member':
        return e.field === 'sptep';
      case 'call': {
        const n = calleeName(e.fn);
        return (n === 'rcu_dereference' || n === 'READ_ONCE') && !!e.args[0] && this.isSptePtr(e.args[0]);
      }
      case 'unary':
        return e.op === '&' && strip(e.arg).t === 'index' && isSptArray(strip(e.arg));
      case 'binary':
        return e.op === '+' && isSptMember(strip(e.l));
      default:
        return false;
    }
  }

  /** The SPTE pointer text when `target` (an lvalue) is an SPTE. */
  private spteStoreTarget(l: Expr): string | undefined {
    if (l.t === 'unary' && l.op === '*' && this.isSptePtr(l.arg)) {
      const a = strip(l.arg);
      return this.text(a.s, a.e);
    }
    if (l.t === 'index' && (isSptMember(strip(l.obj)) || this.isSptePtr(l.obj))) return this.text(l.s, l.e);
    return undefined;
  }
}

/** `/^[A-Z_][A-Z0-9_]+$/` without a regex: a macro-like constant name (two chars or more). */
/** `obj->field` or `obj.field` (casts and parentheses aside), else undefined. */
function fieldRead(e: Expr): Extract<Expr, { t: 'member' }> | undefined {
  const x = strip(e);
  return x.t === 'member' ? x : undefined;
}

function isConstantName(name: string): boolean {
  if (name.length < 2) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (!((c >= 65 && c <= 90) || c === 95 || (i > 0 && c >= 48 && c <= 57))) return false;
  }
  return true;
}

function isSptMember(e: Expr): boolean {
  return e.t === 'member' && e.field === 'spt';
}
function isSptArray(e: Expr): boolean {
  return e.t === 'index' && isSptMember(strip(e.obj));
}

function containsOr(e: Expr): boolean {
  const x = strip(e);
  if (x.t === 'binary') return x.op === '||' || containsOr(x.l) || containsOr(x.r);
  if (x.t === 'unary') return containsOr(x.arg);
  return false;
}

function sameCond(a?: EdgeCondition, b?: EdgeCondition): boolean {
  if (!a || !b) return !a && !b;
  return a.variable === b.variable && a.value === b.value;
}

/** The flag value of a constant expression (0, 1, true, false, NULL, -EINTR), else undefined. */
export function constValue(expr: Expr): FlagValue | undefined {
  const e = strip(expr);
  if (e.t === 'num') return e.value === undefined ? undefined : e.value === 0 ? 'zero' : 'nonzero';
  if (e.t === 'id') {
    if (e.name === 'true') return 'nonzero';
    if (e.name === 'false' || e.name === 'NULL') return 'zero';
    return undefined;
  }
  if (e.t === 'unary' && e.op === '-') {
    const a = strip(e.arg);
    if (a.t === 'num') return a.value === 0 ? 'zero' : a.value === undefined ? undefined : 'nonzero';
    if (a.t === 'id' && /^E[A-Z0-9]+$/.test(a.name)) return 'nonzero';
    return undefined;
  }
  if (e.t === 'unary' && e.op === '!') {
    const v = constValue(e.arg);
    return v === 'zero' ? 'nonzero' : v === 'nonzero' ? 'zero' : undefined;
  }
  return undefined;
}

function lastKid(n: SNode, type: string): SNode | undefined {
  const k = n.kids;
  if (!k) return undefined;
  for (let i = k.length - 1; i >= 0; i--) if (k[i].type === type) return k[i];
  return undefined;
}

// ------------------------------------------------------------------------------------------------
// File level

/**
 * What one item of the file-scope walk contributed to the file's facts, in walk order. Kept
 * between runs so that a re-run after an edit reuses every item the edit did not touch
 * (shifting its lines) and replays its contributions in the same order as a fresh run would.
 */
export interface ItemRecord {
  kind: 'fn' | 'decl' | 'error';
  /** Node type (`declaration`, `function_definition`, ...). */
  type: string;
  s: number;
  e: number;
  /** Line of `s`. */
  line: number;
  /** Global locks set, in order (a later one of the same name replaces an earlier one). */
  globals: GlobalLockDef[];
  bindings: FieldFunctionBinding[];
  structs: RawStruct[];
  /** Functions: the facts (null when the builder gave up), and the error count. */
  facts: FunctionFacts | null;
  errors: number;
  /** Functions: what else their facts depend on (column of `s`, globals seen before, header fix-up). */
  col: number;
  globalsKey: string;
  prevText: string;
  prev?: SNode;
  /**
   * Functions without any syntax error: offset of the body's `{` (an edit strictly inside the
   * body may be re-parsed alone, see `reextractInside`); -1 otherwise.
   */
  bodyS: number;
}

/** What `extractWithState` keeps for the next run of the same file. */
export interface ExtractState {
  records: ItemRecord[];
}

/**
 * Where the text changed since the previous run: old text [lo, oldHi) became new text
 * [lo, newHi); everything before and after is the same. `lineDelta` is the change in line count.
 */
export interface TextEnvelope {
  lo: number;
  oldHi: number;
  newHi: number;
  lineDelta: number;
}

export function contentHash(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

/** A cursor over a tree or a flat tree (flatTree.ts), and what ends the walk. */
function walkOf(tree: Tree | FlatTree): { cursor: WalkCursor; close: () => void } {
  if ('nodes' in tree) {
    const language = getLanguage();
    return { cursor: new FlatCursor(tree, typeNamesOf(language), language.fields), close: () => {} };
  }
  const c = tree.walk();
  const cursor = FastCursor.wrap(c, tree);
  return {
    cursor,
    close: () => {
      cursor.sync();
      c.delete();
    },
  };
}

export function extractFacts(file: string, text: string, tree: Tree | FlatTree): FileFacts {
  return extractWithState(file, text, tree, new LineIndex(text)).facts;
}

/** Same key over the globals seen so far as a fresh run computes (names and kinds, in order). */
function globalsKeyOf(globals: Map<string, GlobalLockDef>): string {
  let k = '';
  for (const g of globals.values()) k += `${g.name}:${g.kind},`;
  return k;
}

function headerPrevText(text: string, prev: SNode | undefined): string {
  return prev && prev.type === 'declaration' && text.charCodeAt(prev.e - 1) !== 59 ? text.slice(prev.s, prev.e) : '';
}

/**
 * Extracts a whole file from its tree (or its flattened parse, flatTree.ts). With `reuse` (the
 * previous run's state and where the text changed since), items outside the changed part are
 * not extracted again: their facts are kept and moved to their new lines in place (moves.ts),
 * provided what they depend on is the same.
 */
export function extractWithState(
  file: string,
  text: string,
  tree: Tree | FlatTree,
  lines: LineIndex,
  reuse?: { state: ExtractState; edit: TextEnvelope; oldLines: LineIndex },
): { facts: FileFacts; state: ExtractState } {
  const ctx: FileContext = { file, text, lines, globals: new Map(), bindings: [], globalLog: [] };
  const rawStructs: RawStruct[] = [];
  const records: ItemRecord[] = [];
  let globalsKey = '';
  let globalsKeyLog = 0;
  const currentGlobalsKey = (): string => {
    if (globalsKeyLog !== ctx.globalLog!.length) {
      globalsKey = globalsKeyOf(ctx.globals);
      globalsKeyLog = ctx.globalLog!.length;
    }
    return globalsKey;
  };

  // The previous run's records in document order, visited with a moving index.
  const old = reuse?.state.records ?? [];
  const edit = reuse?.edit;
  let oi = 0;
  const previous = (s: number, e: number, kind: ItemRecord['kind'], type: string): ItemRecord | undefined => {
    if (!edit) return undefined;
    let os: number;
    let oe: number;
    if (e < edit.lo) {
      os = s;
      oe = e;
    } else if (s > edit.newHi) {
      os = s - (edit.newHi - edit.oldHi);
      oe = e - (edit.newHi - edit.oldHi);
    } else return undefined;
    while (oi < old.length && old[oi].s < os) oi++;
    const r = old[oi];
    return r && r.s === os && r.e === oe && r.kind === kind && r.type === type ? r : undefined;
  };
  /** Old records taken over (the others' functions were re-extracted, or are gone). */
  const reusedRecords = new Set<ItemRecord>();
  /** Functions extracted afresh in this run. */
  const fresh: FunctionFacts[] = [];
  // Replays what a reused record contributed, moved `d` lines down (in place, see moves.ts).
  const replay = (r: ItemRecord, d: number): ItemRecord => {
    reusedRecords.add(r);
    shiftItem(d, r.facts, r.globals, r.bindings);
    for (const g of r.globals) {
      ctx.globals.set(g.name, g);
      ctx.globalLog!.push(g);
    }
    for (const b of r.bindings) ctx.bindings.push(b);
    for (const st of r.structs) rawStructs.push(st);
    return { ...r };
  };

  // > 0 inside a file-scope ERROR node: error recovery decided those items' extents.
  let inError = 0;
  // Raw wasm calls from here to the end of the walk: no other web-tree-sitter call in between.
  const { cursor, close } = walkOf(tree);
  const functionItem = (s: number, e: number, prev: SNode | undefined): void => {
    const key = currentGlobalsKey();
    const col = lines.pos(s).column;
    const prevText = headerPrevText(text, prev);
    const line = lines.line(s);
    const was = previous(s, e, 'fn', 'function_definition');
    if (was && was.col === col && was.globalsKey === key && was.prevText === prevText) {
      const d = line - was.line;
      const r = replay(was, d);
      r.s = s;
      r.e = e;
      r.line = line;
      r.prev = prev;
      r.bodyS = r.bodyS >= 0 && inError === 0 ? r.bodyS + s - was.s : -1;
      records.push(r);
      return;
    }
    const hasError = cursor.hasError();
    // ERROR nodes at statement level; a function whose errors all sit inside expressions (or
    // are MISSING tokens) counts once. Counting every ERROR would cost a full walk.
    const counter = { n: 0 };
    const sk = skeletonAt(cursor, counter);
    const r = buildFunctionRecord(ctx, rawStructs, sk, prev, hasError, counter.n, { key, col, prevText, line });
    if (inError > 0) r.bodyS = -1;
    if (r.facts) fresh.push(r.facts);
    records.push(r);
  };
  try {
    const visitLevel = (): void => {
      let prev: SNode | undefined;
      if (!cursor.gotoFirstChild()) return;
      do {
        const type = cursor.type();
        const here: SNode = { type, s: cursor.startIndex(), e: cursor.endIndex() };
        if (type === 'function_definition') functionItem(here.s, here.e, prev);
        else if (type === 'ERROR') {
          records.push(emptyRecord('error', type, here.s, here.e, lines.line(here.s), 1));
          inError++;
          visitLevel();
          inError--;
        } else if (
          type === 'preproc_if' ||
          type === 'preproc_ifdef' ||
          type === 'preproc_else' ||
          type === 'preproc_elif' ||
          type === 'preproc_elifdef' ||
          type === 'linkage_specification' ||
          type === 'declaration_list'
        ) {
          visitLevel();
        } else if (
          type === 'declaration' ||
          type === 'type_definition' ||
          type === 'struct_specifier' ||
          type === 'union_specifier' ||
          type === 'expression_statement'
        ) {
          const line = lines.line(here.s);
          const was = previous(here.s, here.e, 'decl', type);
          if (was) {
            const r = replay(was, line - was.line);
            r.s = here.s;
            r.e = here.e;
            r.line = line;
            records.push(r);
          } else {
            const r = emptyRecord('decl', type, here.s, here.e, line, 0);
            const g0 = ctx.globalLog!.length;
            const b0 = ctx.bindings.length;
            const s0 = rawStructs.length;
            fileScopeItem(ctx, here, rawStructs);
            r.globals = ctx.globalLog!.slice(g0);
            r.bindings = ctx.bindings.slice(b0);
            r.structs = rawStructs.slice(s0);
            records.push(r);
          }
        }
        prev = here;
      } while (cursor.gotoNextSibling());
      cursor.gotoParent();
    };
    visitLevel();
  } finally {
    close();
  }
  if (reuse) {
    const replaced: FunctionFacts[] = [];
    for (const r of old) if (r.facts && !reusedRecords.has(r)) replaced.push(r.facts);
    adoptRanges(replaced, fresh, positionMapping(reuse.edit, reuse.oldLines, lines));
  }
  return { facts: assemble(file, text, lines, records), state: { records } };
}

/** How positions of the old text map to the new one (moves.ts). */
function positionMapping(edit: TextEnvelope, oldLines: LineIndex, lines: LineIndex): PositionMapping {
  return {
    lo: edit.lo,
    oldHi: edit.oldHi,
    newHi: edit.newHi,
    oldOffset: (p) => oldLines.offset(p.line, p.column),
    newPos: (o) => lines.pos(o),
  };
}

function emptyRecord(kind: ItemRecord['kind'], type: string, s: number, e: number, line: number, errors: number): ItemRecord {
  return { kind, type, s, e, line, globals: [], bindings: [], structs: [], facts: null, errors, col: 0, globalsKey: '', prevText: '', bodyS: -1 };
}

/** Builds one function's facts from its skeleton and records what it contributed to `ctx`. */
function buildFunctionRecord(
  ctx: FileContext,
  rawStructs: RawStruct[],
  sk: SNode,
  prev: SNode | undefined,
  hasError: boolean,
  errorNodes: number,
  at: { key: string; col: number; prevText: string; line: number },
): ItemRecord {
  const r = emptyRecord('fn', 'function_definition', sk.s, sk.e, at.line, errorNodes > 0 ? errorNodes : hasError ? 1 : 0);
  r.col = at.col;
  r.globalsKey = at.key;
  r.prevText = at.prevText;
  r.prev = prev;
  const g0 = ctx.globalLog!.length;
  const b0 = ctx.bindings.length;
  const s0 = rawStructs.length;
  let facts: FunctionFacts | null;
  try {
    facts = new FunctionBuilder(ctx).build(sk, prev);
  } catch {
    facts = null; // never lose the rest of the file
  }
  if (facts) {
    facts.hasErrors = hasError;
    if (ctx.bindings.length > b0) facts.notes = [...(facts.notes ?? []), 'has-local-bindings'];
  }
  r.facts = facts;
  r.globals = ctx.globalLog!.slice(g0);
  r.bindings = ctx.bindings.slice(b0);
  r.structs = rawStructs.slice(s0);
  if (!hasError) r.bodyS = lastKid(sk, 'compound_statement')?.s ?? -1;
  return r;
}

/** The file's facts from its records (the same order of everything as the walk). */
function assemble(file: string, text: string, lines: LineIndex, records: ItemRecord[]): FileFacts {
  const functions: FunctionFacts[] = [];
  const globals = new Map<string, GlobalLockDef>();
  const bindings: FieldFunctionBinding[] = [];
  const structs: StructDef[] = [];
  let errorCount = 0;
  for (const r of records) {
    errorCount += r.errors;
    if (r.facts) functions.push(r.facts);
    for (const g of r.globals) globals.set(g.name, g);
    for (const b of r.bindings) bindings.push(b);
    for (const st of r.structs) structs.push({ name: st.name, file, fields: st.fields as StructField[] });
  }
  return {
    file,
    hash: contentHash(text),
    functions,
    structs,
    globals: [...globals.values()],
    bindings,
    suppressions: readSuppressions(text, (o) => lines.line(o)),
    ...macroCallsOf(text),
    errorCount,
  };
}

function macroCallsOf(text: string): { macroCalls?: string[]; exported?: string[] } {
  const names = readMacroCalls(text);
  const exported = readExports(text);
  return { ...(names.length ? { macroCalls: names } : {}), ...(exported.length ? { exported } : {}) };
}

/**
 * Re-extracts after an edit strictly inside the body of one function without syntax errors,
 * parsing only that function (`parseRange` parses the text restricted to a range): when the
 * function alone parses as one error-free function definition of the new extent, a parse of the
 * whole file would give the same tree everywhere (the parser is in the same state before the
 * function, the function's subtree is the same, and so is everything after it), so every other
 * item keeps its facts, shifted. Returns null when that does not hold (the caller re-parses the
 * file).
 */
export function reextractInside(
  file: string,
  text: string,
  lines: LineIndex,
  oldLines: LineIndex,
  state: ExtractState,
  edit: TextEnvelope,
  parseRange: (s: number, e: number) => Tree | null,
): { facts: FileFacts; state: ExtractState } | null {
  const recs = state.records;
  let i = -1;
  for (let k = 0; k < recs.length; k++) {
    const r = recs[k];
    if (r.s >= edit.lo) break;
    if (r.kind === 'fn' && r.bodyS >= 0 && r.bodyS < edit.lo && edit.oldHi < r.e) i = k;
  }
  if (i < 0) return null;
  const was = recs[i];
  const d = edit.newHi - edit.oldHi;
  const newE = was.e + d;
  const tree = parseRange(was.s, newE);
  if (!tree) return null;
  try {
    const root = tree.rootNode;
    if (root.hasError || root.childCount !== 1) return null;
    const cursor0 = tree.walk();
    const cursor = FastCursor.wrap(cursor0, tree);
    let rec: ItemRecord;
    const ctx: FileContext = { file, text, lines, globals: new Map(), bindings: [], globalLog: [] };
    for (let k = 0; k < i; k++) for (const g of recs[k].globals) ctx.globals.set(g.name, g);
    try {
      if (!cursor.gotoFirstChild() || cursor.type() !== 'function_definition' || cursor.startIndex() !== was.s || cursor.endIndex() !== newE) return null;
      const counter = { n: 0 };
      const sk = skeletonAt(cursor, counter);
      rec = buildFunctionRecord(ctx, [], sk, was.prev, false, counter.n, { key: was.globalsKey, col: was.col, prevText: was.prevText, line: was.line });
    } finally {
      cursor.sync();
      cursor0.delete();
    }
    // The function's static locks are seen by every later function: a change there is not local.
    if (rec.globals.length !== was.globals.length || rec.globals.some((g, k) => g.name !== was.globals[k].name || g.kind !== was.globals[k].kind)) return null;
    if (was.facts && rec.facts) adoptRanges([was.facts], [rec.facts], positionMapping(edit, oldLines, lines));
    const records = recs.slice(0, i);
    records.push(rec);
    const ld = edit.lineDelta;
    for (let k = i + 1; k < recs.length; k++) records.push(shiftRecord(recs[k], d, ld));
    return { facts: assemble(file, text, lines, records), state: { records } };
  } finally {
    tree.delete();
  }
}

function shiftRecord(r: ItemRecord, d: number, ld: number): ItemRecord {
  if (d === 0 && ld === 0) return r;
  shiftItem(ld, r.facts, r.globals, r.bindings);
  return {
    ...r,
    s: r.s + d,
    e: r.e + d,
    line: r.line + ld,
    prev: r.prev ? { ...r.prev, s: r.prev.s + d, e: r.prev.e + d } : undefined,
    bodyS: r.bodyS >= 0 ? r.bodyS + d : -1,
  };
}

const GLOBAL_HINT = /DEFINE_|DECLARE_|spinlock_t|rwlock_t|\bstruct\s+(?:mutex|rw_semaphore|srcu_struct)\b/;

function fileScopeItem(ctx: FileContext, n: SNode, rawStructs: RawStruct[]): void {
  const { text } = ctx;
  const t = text.slice(n.s, n.e);
  const hasBrace = t.includes('{');
  if (hasBrace && (t.includes('struct') || t.includes('union'))) readStructs(text, n.s, n.e, rawStructs);
  const bindingHint = hasBrace && t.includes('.') && t.includes('=');
  // `static int (*const handlers[])(...) = { [X] = fn, ... }`: an array of function names.
  const arrayHint = hasBrace && n.type === 'declaration' && t.includes('[') && t.includes('=');
  if ((n.type === 'declaration' || n.type === 'expression_statement') && (bindingHint || arrayHint || GLOBAL_HINT.test(t))) {
    // Only the head matters for globals and the variable name: stop at the initializer's brace.
    const head = hasBrace ? n.s + t.indexOf('{') : n.e;
    const d = readDeclaration(text, n.s, head);
    if (d) {
      for (const g of globalLocksOf(d, n.s, n.e)) {
        setGlobal(ctx, { name: g.name, kind: g.kind, perCpu: g.perCpu, range: ctx.lines.range(g.s, g.e) });
      }
      if (bindingHint) {
        const eq = t.indexOf('=');
        const brace = t.indexOf('{', eq);
        if (brace > 0) {
          const variable = d.declarators[0]?.name ?? '';
          for (const b of readDesignatedBindings(text, n.s + brace, n.e)) {
            for (const func of boundNames(ctx, b)) {
              if (/^[A-Z0-9_]+$/.test(func) || func === 'true' || func === 'false') continue;
              ctx.bindings.push({ structType: d.type || undefined, variable, field: b.field, func, range: ctx.lines.range(b.s, b.e) });
            }
          }
        }
      }
      const x = d.declarators[0];
      if (arrayHint && x && isFunctionArray(d, x)) {
        const eq = t.indexOf('=', x.nameE - n.s);
        const brace = eq < 0 ? -1 : t.indexOf('{', eq);
        if (brace > 0) {
          for (const b of readArrayFunctionBindings(text, n.s + brace, n.e)) {
            ctx.bindings.push({ structType: undefined, variable: x.name, field: '[]', func: b.func, range: ctx.lines.range(b.s, b.e) });
          }
        }
      }
    }
  }
}
