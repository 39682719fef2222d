import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it, beforeAll } from 'vitest';
import { initFrontend, parseAndExtract } from '../../server/frontend';
import { getParser } from '../../server/frontend/parser';
import { FastCursor, type WalkCursor } from '../../server/frontend/fastCursor';
import type { TreeCursor } from 'web-tree-sitter';

const SRC = `
static int f(struct kvm *kvm)
{
	int r;
	for (r = 0; r < 3; r++) {
		spin_lock(&kvm->mmu_lock);
		if (r == ) g(;
		spin_unlock(&kvm->mmu_lock);
	}
	return r;
}
struct s { int a; };
`;

/** Every node in preorder: type, range, field, hasError. */
function dump(c: WalkCursor): string[] {
  const out: string[] = [];
  const visit = (): void => {
    out.push(`${c.type()}#${c.typeId()} ${c.startIndex()}-${c.endIndex()} ${c.fieldName()} ${c.hasError()}`);
    if (c.gotoFirstChild()) {
      do visit();
      while (c.gotoNextSibling());
      c.gotoParent();
    }
  };
  visit();
  return out;
}

describe('FastCursor', () => {
  beforeAll(async () => {
    await initFrontend();
  });

  it('uses the raw wasm exports of the bundled web-tree-sitter', () => {
    expect(FastCursor.raw).toBe(true);
  });

  it('walks exactly like the public TreeCursor, and leaves the public cursor usable', () => {
    const tree = getParser().parse(SRC)!;
    try {
      const pub = tree.walk();
      const publicWalk: WalkCursor = {
        gotoFirstChild: () => pub.gotoFirstChild(),
        gotoNextSibling: () => pub.gotoNextSibling(),
        gotoParent: () => void pub.gotoParent(),
        type: () => pub.nodeType,
        typeId: () => pub.nodeTypeId,
        typeNames: () => [],
        startIndex: () => pub.startIndex,
        endIndex: () => pub.endIndex,
        fieldName: () => pub.currentFieldName,
        hasError: () => pub.currentNode.hasError,
        sync: () => {},
      };
      const expected = dump(publicWalk);
      pub.delete();

      const tc: TreeCursor = tree.walk();
      const fast = FastCursor.wrap(tc, tree);
      expect(dump(fast)).toEqual(expected);
      expect(expected.some((l) => l.endsWith('true'))).toBe(true);
      // Move somewhere, sync, and check the public cursor agrees.
      fast.gotoFirstChild();
      fast.gotoNextSibling();
      const where = [fast.type(), fast.startIndex()];
      fast.sync();
      expect([tc.nodeType, tc.startIndex]).toEqual(where);
      const top = tree.rootNode.children.map((n) => n!.type);
      expect(where[0]).toBe(top[1]);
      expect(tc.gotoNextSibling()).toBe(true);
      expect(tc.nodeType).toBe(top[2]);
      tc.delete();
    } finally {
      tree.delete();
    }
  });
});

// The real KVM tree (../kernel next to the repository), when present: the facts of the raw walk
// must be identical to those of the public API's walk.
const KERNEL = path.resolve(__dirname, '../../../kernel');
const SAMPLES = ['arch/x86/kvm/mmu/mmu.c', 'arch/x86/kvm/x86.c', 'virt/kvm/kvm_main.c', 'arch/x86/kvm/mmu/paging_tmpl.h'];

describe.skipIf(!fs.existsSync(path.join(KERNEL, SAMPLES[0])))('FastCursor on real KVM sources', () => {
  it('gives the same FileFacts as the public TreeCursor', async () => {
    await initFrontend();
    for (const rel of SAMPLES) {
      const file = path.join(KERNEL, rel);
      if (!fs.existsSync(file)) continue;
      const text = fs.readFileSync(file, 'utf8');
      const fast = JSON.stringify(parseAndExtract(rel, text));
      FastCursor.setRawEnabled(false);
      try {
        expect(JSON.stringify(parseAndExtract(rel, text))).toBe(fast);
      } finally {
        FastCursor.setRawEnabled(true);
      }
    }
  });
});
