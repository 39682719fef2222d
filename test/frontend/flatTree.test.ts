/**
 * The command line's workers send a flattened parse (flatTree.ts) and the main thread extracts
 * from it: the facts must be exactly those of the extraction from the tree, for our fixtures,
 * the bundled examples, broken C, and (when ../kernel is there) every file of x86 KVM.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { extractFromFlat, initFrontend, parseAndExtract, parseToFlat } from '../../server/frontend/index';
import { collectCFiles } from '../../server/cli/files';

const REPO = path.resolve(__dirname, '../..');
const KERNEL = path.resolve(REPO, '../kernel');

function viaFlat(file: string, text: string) {
  const r = parseToFlat(file, text);
  return 'flat' in r ? extractFromFlat(file, text, r.flat) : r.facts;
}

beforeAll(async () => {
  await initFrontend();
});

describe('extraction from a flattened parse', () => {
  it('gives the facts of the tree extraction for the examples and the fixtures', () => {
    const files = collectCFiles([path.join(REPO, 'examples'), path.join(REPO, 'test/fixtures')]);
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const text = fs.readFileSync(f, 'utf8');
      expect(viaFlat(f, text), f).toEqual(parseAndExtract(f, text));
    }
  });

  it('gives the same facts for broken and half-typed C, and skips what parseAndExtract skips', () => {
    const texts = [
      'void f(struct kvm *kvm)\n{\n\tmutex_lock(&kvm->lock);\n\tif (x\n}\n',
      'int g(void) { for (i = 0; i < n; i++) { spin_lock(&l); } return 0; }\n#if 0\nvoid h(\n#endif\n',
      'static void k(struct kvm *kvm) { scoped_guard(mutex, &kvm->lock) { kvm->x = 1; } }\n',
      '}}}} ((( ;; int',
      '\u0000\u0001binary',
      '',
    ];
    for (const t of texts) expect(viaFlat('t.c', t), JSON.stringify(t)).toEqual(parseAndExtract('t.c', t));
  });

  it.skipIf(!fs.existsSync(path.join(KERNEL, 'arch/x86/kvm')))('gives the facts of the tree extraction for every file of x86 KVM', () => {
    for (const f of collectCFiles([path.join(KERNEL, 'arch/x86/kvm'), path.join(KERNEL, 'virt/kvm')])) {
      const text = fs.readFileSync(f, 'utf8');
      expect(viaFlat(f, text), f).toEqual(parseAndExtract(f, text));
    }
  }, 60_000);
});
