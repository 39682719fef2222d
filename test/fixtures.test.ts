/**
 * Runs every C fixture of test/fixtures/<code>/ through the analyzer and compares the findings
 * with the inline `// expect: CODE` comments (see test/fixtures/README.md).
 */
import { describe, expect, it } from 'vitest';
import {
  caseRunnable,
  compare,
  discoverFixtures,
  EXAMPLES,
  exampleExpectations,
  loadEngine,
  parseExpectations,
  runCase,
  runExamples,
  type FixtureCase,
} from './fixtures/harness';
import * as fs from 'node:fs';
import * as path from 'node:path';

const loaded = await loadEngine();
// KVM_LOCKLINT_FIXTURES_ALL=1 runs the fixtures of codes the registry does not mark implemented
// yet (for the engineers writing those checks).
if (process.env.KVM_LOCKLINT_FIXTURES_ALL === '1' && !('reason' in loaded)) loaded.engine.implemented = null;
const cases = discoverFixtures();

describe('fixture conventions', () => {
  it('parses single and multiple expectations at the end of a line', () => {
    const text = 'a();\nmutex_lock(&kvm->lock); // expect: lock-order\nb(); // expect: lock-order, srcu-order\n';
    expect(parseExpectations('f.c', text)).toEqual([
      { file: 'f.c', line: 2, code: 'lock-order' },
      { file: 'f.c', line: 3, code: 'lock-order' },
      { file: 'f.c', line: 3, code: 'srcu-order' },
    ]);
  });

  it('finds at least three fixtures for every rule code', () => {
    const perCode = new Map<string, number>();
    for (const c of cases) perCode.set(c.code, (perCode.get(c.code) ?? 0) + 1);
    for (const code of [
      'lock-order', 'lock-cycle', 'srcu-order', 'sleep-in-atomic', 'lock-requires', 'rwlock-mode',
      'notifier-lock', 'lock-imbalance', 'srcu-required', 'spte-nonatomic', 'spte-lockless-write',
      'spte-tlb-flush',
    ]) {
      expect(perCode.get(code) ?? 0, code).toBeGreaterThanOrEqual(3);
    }
  });

  it('has one demo marker per rule code in examples/ (two for lock-order)', () => {
    const files = ['virt/kvm/kvm_main.c', 'arch/x86/kvm/x86.c', 'arch/x86/kvm/i8254.c', 'arch/x86/kvm/lapic.c',
      'arch/x86/kvm/ioapic.c', 'arch/x86/kvm/mmu/mmu.c', 'arch/x86/kvm/mmu/tdp_mmu.c'];
    const codes = files.flatMap((f) =>
      exampleExpectations(f, fs.readFileSync(path.join(EXAMPLES, f), 'utf8')).map((e) => e.code),
    );
    expect(new Set(codes).size).toBe(12);
    expect(codes.length).toBe(13);
  });
});

if ('reason' in loaded) {
  describe.skip(`C fixtures (skipped: ${loaded.reason})`, () => {
    it('needs the analyzer', () => {});
  });
} else {
  const engine = loaded.engine;
  const byCode = new Map<string, FixtureCase[]>();
  for (const c of cases) byCode.set(c.code, [...(byCode.get(c.code) ?? []), c]);

  for (const [code, list] of byCode) {
    const implemented = engine.implemented === null || engine.implemented.has(code);
    describe(`C fixtures: ${code}`, () => {
      for (const c of list) {
        if (!implemented) {
          it.todo(`${c.name} (${code} not implemented yet)`);
          continue;
        }
        it.skipIf(!caseRunnable(c))(c.name, async () => {
          const run = await runCase(engine, c);
          // Codes the registry does not mark implemented neither count as expected nor as found.
          const live = (code: string) => engine.implemented === null || engine.implemented.has(code);
          const { missing, unexpected } = compare({
            expected: run.expected.filter((e) => live(e.code)),
            findings: run.findings.filter((f) => live(f.code)),
          });
          const report = [
            ...missing.map((m) => `missing    ${m}`),
            ...unexpected.map((u) => `unexpected ${u}`),
          ].join('\n');
          expect(report, `${c.name} (rules: ${c.rules})`).toBe('');
        });
      }
    });
  }
}

if (!('reason' in loaded)) {
  const engine = loaded.engine;
  describe('bundled examples/', () => {
    it('reports exactly the marked demo violations (codes not implemented yet are ignored)', async () => {
      const run = await runExamples(engine);
      const live = (code: string) => engine.implemented === null || engine.implemented.has(code);
      const { missing, unexpected } = compare({
        expected: run.expected.filter((e) => live(e.code)),
        findings: run.findings.filter((f) => live(f.code)),
      });
      const report = [...missing.map((m) => `missing    ${m}`), ...unexpected.map((u) => `unexpected ${u}`)].join('\n');
      expect(report).toBe('');
    });
  });
}
