import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RulesResolver, findLockingDoc, loadRulesDoc } from '../../server/engine/rulesDiscovery';

const SHARED = path.resolve(__dirname, '../../../shared');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-locklint-rules-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function write(rel: string, content: string): string {
  const file = path.join(tmp, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

const MINI_DOC = `KVM Lock Overview
=================

1. Acquisition Orders
---------------------

The acquisition orders for mutexes are as follows:

- kvm->lock is taken outside vcpu->mutex

- kvm->lock is taken outside kvm->slots_lock and kvm->irq_lock
`;

describe('rules discovery', () => {
  it('walks up from a file to the tree holding Documentation/virt/kvm/locking.rst', () => {
    const doc = write('linux/Documentation/virt/kvm/locking.rst', MINI_DOC);
    const file = write('linux/arch/x86/kvm/mmu/mmu.c', 'int x;');
    expect(findLockingDoc(file)).toBe(doc);
    const choice = new RulesResolver().forFile(file);
    expect(choice).toMatchObject({ key: doc, docPath: doc, fellBack: false });
    expect(choice.model.orders.length).toBeGreaterThan(0);
  });

  it('finds the older Documentation/virtual/kvm/locking.txt', () => {
    const doc = write('old/Documentation/virtual/kvm/locking.txt', MINI_DOC);
    expect(findLockingDoc(write('old/virt/kvm/kvm_main.c', ''))).toBe(doc);
  });

  it('finds the 5.4 layout, Documentation/virt/kvm/locking.txt', () => {
    const doc = write('v5.4/Documentation/virt/kvm/locking.txt', MINI_DOC);
    const choice = new RulesResolver().forFile(write('v5.4/arch/x86/kvm/mmu.c', ''));
    expect(choice).toMatchObject({ key: doc, docPath: doc, fellBack: false });
  });

  it('uses the built-in rules outside any kernel tree', () => {
    const choice = new RulesResolver().forFile(write('loose/a.c', ''));
    expect(choice).toMatchObject({ key: 'built-in', docPath: null, fellBack: false });
    expect(choice.model.origin).toBe('builtin');
  });

  it('falls back to the built-in rules when the document is unusable, and says so', () => {
    const doc = write('broken/Documentation/virt/kvm/locking.rst', 'Nothing about locks here.\n\x00\x01');
    const choice = new RulesResolver().forFile(write('broken/virt/kvm/x.c', ''));
    expect(choice).toMatchObject({ docPath: doc, fellBack: true });
    expect(choice.model.origin).toBe('builtin');
    expect(choice.warnings.join(' ')).toMatch(/built-in rules instead of/);
  });

  it('gives every file the explicit rules file, and refuses one that does not exist', () => {
    const doc = write('explicit/locking.rst', MINI_DOC);
    const resolver = new RulesResolver(doc);
    expect(resolver.forFile(write('linux/virt/kvm/y.c', '')).docPath).toBe(doc);
    expect(() => new RulesResolver(path.join(tmp, 'explicit/nope.rst'))).toThrow(/cannot read rules file/);
  });

  describe.skipIf(!fs.existsSync(SHARED))('with the documents of ../shared', () => {
    it('reads every version of the document without falling back', () => {
      const dir = path.join(SHARED, 'kvm-docs');
      for (const name of fs.readdirSync(dir)) {
        const choice = loadRulesDoc(path.join(dir, name));
        expect(choice.fellBack, `${name}: ${choice.warnings.join('; ')}`).toBe(false);
      }
    });
  });
});
