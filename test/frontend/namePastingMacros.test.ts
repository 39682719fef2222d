/**
 * Ops tables bound through name-pasting macros (`.vcpu_load = vt_op(vcpu_load)` with
 * `#define vt_op(name) vt_##name`, vmx/main.c since 6.15): each definition of the macro gives the
 * function the field is bound to. Fixture: test/fixtures/lock-order/ops-bound-through-macro.c.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { namePastingMacros } from '../../server/frontend/decl';
import { initFrontend, parseAndExtract } from '../../server/frontend/index';

beforeAll(async () => {
  await initFrontend();
});

describe('name-pasting macros', () => {
  it('reads prefix and suffix of every #ifdef alternative, and nothing else', () => {
    const text = [
      '#ifdef CONFIG_X',
      '#define vt_op(name) vt_##name',
      '#else',
      '#define vt_op(name) vmx_##name',
      '#define tdx_only(name) NULL',
      '#endif',
      '#define handler(n) n ## _handler',
      '#define wrapped(n) pre_##n##_post',
      '#define call(n) foo(n)',
      '#define twice(n) n##n',
    ].join('\n');
    expect([...namePastingMacros(text)]).toEqual([
      ['vt_op', [['vt_', ''], ['vmx_', '']]],
      ['handler', [['', '_handler']]],
      ['wrapped', [['pre_', '_post']]],
    ]);
  });

  it('bind ops table fields to the functions they name, and skip macros that name none', () => {
    const text = [
      '#define vt_op(name) vt_##name',
      '#define tdx_only(name) NULL',
      'static struct kvm_x86_ops vt_x86_ops = {',
      '\t.vcpu_load = vt_op(vcpu_load),',
      '\t.vm_init = tdx_only(vm_init),',
      '\t.run = vmx_run,',
      '};',
    ].join('\n');
    const facts = parseAndExtract('arch/x86/kvm/vmx/main.c', text);
    expect(facts.bindings.map((b) => [b.structType, b.field, b.func])).toEqual([
      ['kvm_x86_ops', 'vcpu_load', 'vt_vcpu_load'],
      ['kvm_x86_ops', 'run', 'vmx_run'],
    ]);
  });
});
