import { describe, expect, it } from 'vitest';
import { UsageError, parseArgs } from '../../server/cli/args';

describe('command-line parsing', () => {
  it('defaults to check with text output, failing on warnings', () => {
    expect(parseArgs([])).toMatchObject({ command: 'check', paths: [], format: 'text', failOn: 'warning', codes: {} });
    expect(parseArgs(['arch/x86/kvm', 'virt/kvm'])).toMatchObject({ command: 'check', paths: ['arch/x86/kvm', 'virt/kvm'] });
    expect(parseArgs(['check', 'x.c', '--format', 'sarif'])).toMatchObject({ paths: ['x.c'], format: 'sarif' });
  });

  it('accepts --opt=value and --opt value alike', () => {
    expect(parseArgs(['--format=json', '--jobs=3', '--root', '/tmp'])).toMatchObject({ format: 'json', jobs: 3, root: '/tmp' });
  });

  it('applies per-code switches in order', () => {
    const args = parseArgs(['--disable', 'lock-cycle,srcu-required', '--severity', 'lock-order=warning', '--enable', 'lock-cycle']);
    expect(args).toMatchObject({
      codes: {
        'lock-cycle': { enabled: true },
        'srcu-required': { enabled: false },
        'lock-order': { enabled: true, severity: 'warning' },
      },
    });
  });

  it.each([
    [['--frobnicate'], /unknown option --frobnicate/],
    [['--format', 'xml'], /--format must be one of text\|json\|sarif/],
    [['--jobs', '0'], /--jobs/],
    [['--jobs', 'two'], /--jobs/],
    [['--fail-on', 'fatal'], /--fail-on/],
    [['--disable', 'no-such-rule'], /unknown rule code 'no-such-rule'/],
    [['--severity', 'lock-order'], /CODE=LEVEL/],
    [['--severity', 'lock-order=fatal'], /--severity/],
    [['--rules'], /--rules needs a value/],
    [['--format', 'json', '--format', 'text'], /more than once/],
    [['rules', '--jobs', '2'], /not an option of `kvm-locklint rules`/],
    [['race'], /scenario id or --list/],
    [['race', '--list', 'lost-dirty'], /either --list or a scenario id/],
    [['race', 'x', '--variant', 'half'], /--variant/],
  ])('rejects %j with a one-line reason', (argv, reason) => {
    let error: unknown;
    try {
      parseArgs(argv);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(reason);
    expect((error as Error).message).not.toContain('\n');
  });

  it('knows help, version, rules and race', () => {
    expect(parseArgs(['check', '--help'])).toEqual({ command: 'help' });
    expect(parseArgs(['-V'])).toEqual({ command: 'version' });
    expect(parseArgs(['rules', '--format', 'json'])).toMatchObject({ command: 'rules', format: 'json' });
    expect(parseArgs(['race', '--list'])).toMatchObject({ command: 'race', list: true });
    expect(parseArgs(['race', 'lost-dirty', '--variant', 'fixed'])).toMatchObject({ id: 'lost-dirty', variant: 'fixed' });
  });
});
