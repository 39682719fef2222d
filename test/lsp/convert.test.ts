import { describe, expect, it } from 'vitest';
import { DiagnosticSeverity } from 'vscode-languageserver/node';
import { pathToUri, suppressionEdit, toDiagnostic, uriToPath } from '../../server/lsp/convert';
import { sanitizeSettings } from '../../server/lsp/settings';

describe('diagnostics for the editor', () => {
  it('carries code, source, rule link and the chain as related information', () => {
    const d = toDiagnostic({
      code: 'lock-order',
      severity: 'error',
      file: '/t/a.c',
      range: { start: { line: 4, column: 2 }, end: { line: 4, column: 9 } },
      message: 'kvm->lock taken while kvm->slots_lock is held',
      ruleRef: 'locking.rst:16',
      related: [{ file: '/t/b c.c', range: { start: { line: 1, column: 0 }, end: { line: 1, column: 3 } }, message: 'held here' }],
    });
    expect(d).toMatchObject({
      severity: DiagnosticSeverity.Error,
      code: 'lock-order',
      source: 'kvm-locklint',
      message: 'kvm->lock taken while kvm->slots_lock is held (locking.rst:16)',
      range: { start: { line: 4, character: 2 }, end: { line: 4, character: 9 } },
      relatedInformation: [{ location: { uri: 'file:///t/b%20c.c' }, message: 'held here' }],
    });
    expect(d.codeDescription?.href).toMatch(/rules\.md#lock-order$/);
  });

  it('maps file URIs to paths and back, and keeps other URIs as keys', () => {
    expect(uriToPath('file:///t/b%20c.c')).toBe('/t/b c.c');
    expect(pathToUri('/t/b c.c')).toBe('file:///t/b%20c.c');
    expect(uriToPath('untitled:Untitled-1')).toBe('untitled:Untitled-1');
    expect(uriToPath('file://%%%')).toBe('file://%%%');
  });
});

describe('"Suppress CODE on this line"', () => {
  it('appends the suppression comment at the end of the line', () => {
    expect(suppressionEdit('\tmutex_lock(&kvm->lock);  ', 'lock-order')).toEqual({
      character: '\tmutex_lock(&kvm->lock);'.length,
      text: ' /* kvm-locklint: ignore lock-order */',
    });
  });

  it('goes before a trailing // comment, but not one inside a string', () => {
    const line = 'f("http://x"); // why';
    expect(suppressionEdit(line, 'lock-order').character).toBe('f("http://x");'.length);
  });

  it('adds a code to a suppression already on the line, once', () => {
    const line = 'spin_lock(&l); /* kvm-locklint: ignore lock-order */';
    const edit = suppressionEdit(line, 'lock-cycle');
    expect(line.slice(0, edit.character) + edit.text + line.slice(edit.character)).toBe(
      'spin_lock(&l); /* kvm-locklint: ignore lock-order lock-cycle */',
    );
    expect(suppressionEdit(line, 'lock-order').text).toBe('');
  });
});

describe('settings', () => {
  it('keeps what is valid and drops what is not', () => {
    expect(
      sanitizeSettings({
        rulesFile: ' Documentation/virt/kvm/locking.rst ',
        codes: { 'lock-cycle': { enabled: false }, 'lock-order': { severity: 'warning' }, bogus: { enabled: false }, 'srcu-order': { severity: 'fatal' } },
        maxFileSizeKB: -3,
      }),
    ).toEqual({
      rulesFile: 'Documentation/virt/kvm/locking.rst',
      codes: { 'lock-cycle': { enabled: false }, 'lock-order': { enabled: true, severity: 'warning' }, 'srcu-order': { enabled: true } },
      maxFileSizeKB: 1,
    });
    expect(sanitizeSettings('garbage')).toEqual({ rulesFile: null, codes: {}, maxFileSizeKB: 2048 });
  });
});
