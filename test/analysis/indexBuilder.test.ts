/**
 * The index kept across analyses (IndexBuilder patches the previous one when the changed files
 * define the same names) must equal a fresh buildIndex of the same files, map order included,
 * and its delta must name every function whose chosen definition changed. The solver fed with
 * those indexes must reach the summaries of a fresh solve.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ClassResolver } from '../../server/analysis/classes';
import { buildIndex, IndexBuilder, type WorkspaceIndex } from '../../server/analysis/index';
import { signatureOf } from '../../server/analysis/signatures';
import { SummarySolver } from '../../server/analysis/summaries';
import type { FileFacts } from '../../server/frontend/facts';
import { parseAndExtract } from '../../server/frontend/index';
import { initFrontend } from '../../server/frontend/parser';

// Our own C in KVM's idioms.
const HEADER = `
struct frob_state {
	spinlock_t lock;
	struct mutex mutex;
	int count;
};

static inline void frob_stub(struct kvm *kvm) { }

struct frob_state *to_frob(struct kvm *kvm);
`;

const CORE = `
static DEFINE_MUTEX(frob_global_lock);

struct frob_state *to_frob(struct kvm *kvm)
{
	return kvm->arch.frob;
}

void frob_stub(struct kvm *kvm)
{
	mutex_lock(&kvm->slots_lock);
	mutex_unlock(&kvm->slots_lock);
}

static void frob_leaf(struct kvm *kvm)
{
	struct frob_state *fs = to_frob(kvm);

	spin_lock(&fs->lock);
	fs->count++;
	spin_unlock(&fs->lock);
}

void frob_outer(struct kvm *kvm)
{
	mutex_lock(&frob_global_lock);
	frob_leaf(kvm);
	frob_stub(kvm);
	mutex_unlock(&frob_global_lock);
}

static const struct frob_ops core_ops = {
	.run = frob_outer,
};
`;

const OTHER = `
void frob_other(struct kvm *kvm)
{
	frob_outer(kvm);
	might_sleep();
}

int frob_dispatch(struct kvm *kvm, struct frob_ops *ops)
{
	ops->run(kvm);
	return 0;
}
`;

let facts: (file: string, text: string) => FileFacts;

beforeAll(async () => {
  await initFrontend();
  facts = (file, text) => parseAndExtract(file, text);
});

/** Everything an index holds, in iteration order (function definitions by identity). */
function shape(ix: WorkspaceIndex) {
  return {
    structs: [...ix.structs].map(([k, s]) => [k, s.name, s.file, [...s.fields]]),
    allFunctions: [...ix.allFunctions],
    functions: [...ix.functions],
    returnTypes: [...ix.returnTypes],
    globals: [...ix.globals],
    bindings: [...ix.bindings].map(([f, m]) => [f, [...m].map(([k, s]) => [k, [...s]])]),
    bindingSites: ix.bindingSites,
    layoutSignature: ix.layoutSignature,
    multiDefined: ix.multiDefined,
  };
}

function expectSameAsFresh(built: WorkspaceIndex, files: FileFacts[]): void {
  const fresh = buildIndex(files);
  const a = shape(built);
  const b = shape(fresh);
  // Chosen definitions must be the very objects of the current facts.
  for (const [name, fn] of b.functions) expect(built.functions.get(name as string), name as string).toBe(fn);
  expect(a).toEqual(b);
  expect(a.functions.map(([n]) => n)).toEqual(b.functions.map(([n]) => n));
  expect(a.returnTypes.map(([n]) => n)).toEqual(b.returnTypes.map(([n]) => n));
  expect(a.globals.map(([n]) => n)).toEqual(b.globals.map(([n]) => n));
}

function expectDeltaCovers(prev: Map<string, unknown>, next: WorkspaceIndex): void {
  const names = next.delta!.names;
  for (const [name, fn] of next.functions) if (prev.get(name) !== fn) expect(names.has(name), name).toBe(true);
  for (const name of prev.keys()) if (!next.functions.has(name)) expect(names.has(name), name).toBe(true);
}

describe('IndexBuilder', () => {
  it('equals a fresh buildIndex after body edits, moved lines, new functions, removed files and a changed return type', () => {
    const files = new Map<string, FileFacts>([
      ['frob.h', facts('frob.h', HEADER)],
      ['frob.c', facts('frob.c', CORE)],
      ['other.c', facts('other.c', OTHER)],
    ]);
    const builder = new IndexBuilder();
    let ix = builder.build(files.values());
    expectSameAsFresh(ix, [...files.values()]);

    const steps: [string, string | null][] = [
      // A body edit: same names, patched.
      ['frob.c', CORE.replace('fs->count++;', 'fs->count += 2;')],
      // Lines added above everything: every function moves.
      ['frob.c', '\n\n' + CORE],
      // A return type that no longer names a struct.
      ['frob.c', CORE.replace('struct frob_state *to_frob(struct kvm *kvm)\n{', 'int to_frob(struct kvm *kvm)\n{')],
      // A new function (names change: built afresh).
      ['other.c', OTHER + '\nvoid frob_new(struct kvm *kvm)\n{\n\tfrob_leaf(kvm);\n}\n'],
      // A new binding in a changed file.
      ['frob.c', CORE.replace('.run = frob_outer,', '.run = frob_outer,\n\t.stop = frob_leaf,')],
      // The global moves down a line.
      ['frob.c', '\n' + CORE.replace('.run = frob_outer,', '.run = frob_outer,\n\t.stop = frob_leaf,')],
      // A file removed, then back.
      ['frob.h', null],
      ['frob.h', HEADER],
      ['other.c', OTHER],
    ];
    for (const [file, text] of steps) {
      const before = new Map(ix.functions);
      if (text === null) files.delete(file);
      else files.set(file, facts(file, text));
      ix = builder.build(files.values());
      expectSameAsFresh(ix, [...files.values()]);
      expectDeltaCovers(before, ix);
    }
  });

  it('names in the delta of a moved file exactly the functions of that file', () => {
    const builder = new IndexBuilder();
    const other = facts('other.c', OTHER);
    builder.build([facts('frob.c', CORE), other]);
    const ix = builder.build([facts('frob.c', '\n' + CORE), other]);
    expect(ix.delta).toBeDefined();
    expect([...ix.delta!.names].sort()).toEqual(['frob_leaf', 'frob_outer', 'frob_stub', 'to_frob']);
  });

  it('feeds the solver indexes whose summaries equal a fresh solve after each edit', () => {
    const files = new Map<string, FileFacts>([
      ['frob.h', facts('frob.h', HEADER)],
      ['frob.c', facts('frob.c', CORE)],
      ['other.c', facts('other.c', OTHER)],
    ]);
    const builder = new IndexBuilder();
    let ix = builder.build(files.values());
    const resolver = new ClassResolver(ix);
    const solver = new SummarySolver(ix, resolver);
    solver.solve(ix, resolver, true);
    const edits: [string, string][] = [
      ['frob.c', CORE.replace('\tspin_unlock(&fs->lock);', '\tspin_unlock(&fs->lock);\n\tmsleep(1);')],
      ['frob.c', '\n\n' + CORE.replace('\tspin_unlock(&fs->lock);', '\tspin_unlock(&fs->lock);\n\tmsleep(1);')],
      ['frob.c', CORE],
      ['other.c', OTHER.replace('frob_outer(kvm);', 'mutex_lock(&kvm->lock);\n\tfrob_outer(kvm);\n\tmutex_unlock(&kvm->lock);')],
    ];
    for (const [file, text] of edits) {
      files.set(file, facts(file, text));
      ix = builder.build(files.values());
      resolver.setIndex(ix);
      solver.solve(ix, resolver, false);
      const freshIx = buildIndex([...files.values()]);
      const freshResolver = new ClassResolver(freshIx);
      const fresh = new SummarySolver(freshIx, freshResolver);
      fresh.solve(freshIx, freshResolver, true);
      expect([...solver.summaries.keys()].sort()).toEqual([...fresh.summaries.keys()].sort());
      for (const [name, sum] of fresh.summaries) expect(signatureOf(solver.summaries.get(name)!), name).toBe(signatureOf(sum));
      for (const [name, flow] of fresh.flows) expect(solver.flows.get(name)!.fn, name).toBe(flow.fn);
    }
  });
});
