/**
 * The witness chain of an inter-procedural lock-order finding (test/fixtures/lock-order/call-chain):
 * vcpu_ioctl() holds vcpu->mutex and calls vcpu_apply_reset() (reset.c), which calls
 * vm_rebuild_irq_routes() (irq.c), which takes kvm->lock. The user must be able to follow every hop.
 */
import { describe, expect, it } from 'vitest';
import { discoverFixtures, loadEngine, runCase } from './fixtures/harness';

const loaded = await loadEngine();
const chainCase = discoverFixtures().find((c) => c.name === 'lock-order/call-chain');

describe.skipIf('reason' in loaded || !chainCase)(
  `lock-order through calls: related chain${'reason' in loaded ? ` (skipped: ${loaded.reason})` : ''}`,
  () => {
    it('names the intermediate function and points into each file of the chain', async () => {
      if ('reason' in loaded || !chainCase) return;
      const run = await runCase(loaded.engine, chainCase);
      const finding = run.findings.find(
        (f) => f.code === 'lock-order' && f.file.endsWith('call-chain/vcpu_ioctl.c'),
      );
      expect(finding, 'a lock-order finding in vcpu_ioctl.c').toBeDefined();
      const related = finding!.related;
      const text = related.map((r) => `${r.file}:${r.range.start.line + 1}: ${r.message}`).join('\n');
      // Held here (vcpu_ioctl.c), the hop through the middle function (reset.c), taken here (irq.c).
      expect(related.some((r) => r.file.endsWith('call-chain/vcpu_ioctl.c')), text).toBe(true);
      expect(related.some((r) => r.file.endsWith('call-chain/reset.c')), text).toBe(true);
      expect(related.some((r) => r.file.endsWith('call-chain/irq.c')), text).toBe(true);
      expect(text).toMatch(/vm_rebuild_irq_routes/);
      // The chain is ordered from the held lock to the acquisition.
      const files = related.map((r) => r.file);
      const lastIrq = files.map((f) => f.endsWith('irq.c')).lastIndexOf(true);
      const firstReset = files.findIndex((f) => f.endsWith('reset.c'));
      expect(firstReset, text).toBeLessThan(lastIrq);
    });
  },
);

const cycleCase = discoverFixtures().find((c) => c.name === 'lock-cycle/ab-ba');

describe.skipIf('reason' in loaded || !cycleCase)('lock-cycle across files: related chain', () => {
  it('is reported once and shows both halves of the AB-BA', async () => {
    if ('reason' in loaded || !cycleCase) return;
    if (loaded.engine.implemented && !loaded.engine.implemented.has('lock-cycle')) return;
    const run = await runCase(loaded.engine, cycleCase);
    const cycles = run.findings.filter((f) => f.code === 'lock-cycle');
    expect(cycles).toHaveLength(1);
    const related = cycles[0].related;
    const text = related.map((r) => `${r.file}:${r.range.start.line + 1}: ${r.message}`).join('\n');
    // Each edge: "held here" and "taken here" in its own file.
    expect(related.filter((r) => r.file.endsWith('ab-ba/lapic.c')).length, text).toBeGreaterThanOrEqual(2);
    expect(related.filter((r) => r.file.endsWith('ab-ba/pit.c')).length, text).toBeGreaterThanOrEqual(2);
  });
});
