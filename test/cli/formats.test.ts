import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../server/checks/finding';
import { RULES } from '../../server/checks/registry';
import type { CheckReport } from '../../server/cli/check';
import { toJsonReport } from '../../server/cli/formatJson';
import { SARIF_SCHEMA, fingerprint, toSarif, type SarifRuleInfo } from '../../server/cli/formatSarif';
import { renderText, renderTextFooter } from '../../server/cli/formatText';
import { builtinChoice } from '../../server/engine/rulesDiscovery';

const ROOT = path.resolve('/src/linux');
const at = (line: number, column: number, endColumn = column + 5) => ({
  start: { line, column },
  end: { line, column: endColumn },
});

const finding: Finding = {
  code: 'lock-order',
  severity: 'error',
  file: path.join(ROOT, 'arch/x86/kvm/x86.c'),
  range: at(119, 2, 29),
  message: 'kvm->lock taken while kvm->slots_lock is held',
  ruleRef: 'locking.rst:16',
  functionName: 'kvm_vm_ioctl_set_thing',
  related: [
    { file: path.join(ROOT, 'arch/x86/kvm/x86.c'), range: at(110, 1), message: 'kvm->slots_lock held here' },
    { file: path.join(ROOT, 'virt/kvm/kvm_main.c'), range: at(40, 1), message: 'kvm->lock taken here' },
  ],
};
const info: Finding = {
  code: 'spte-tlb-flush',
  severity: 'information',
  file: path.join(ROOT, 'arch/x86/kvm/mmu/mmu.c'),
  range: at(9, 0),
  message: 'flush result dropped',
  related: [],
};

const report: CheckReport = {
  files: [finding.file, info.file, path.join(ROOT, 'blob.c')],
  groups: [{ choice: builtinChoice(), files: [finding.file, info.file] }],
  findings: [finding, info],
  notes: [{ file: path.join(ROOT, 'blob.c'), message: 'skipped: binary content' }],
  stats: { functions: 12, lockEvents: 34, ms: 5 },
};

const RULE_INFO: SarifRuleInfo[] = RULES.map((r) => ({ code: r.code, severity: r.defaultSeverity, description: r.description }));

describe('text format', () => {
  it('prints path:line:col: severity: message [code] with 1-based positions and the chain indented', () => {
    const lines = renderText(report, ROOT).trimEnd().split('\n');
    expect(lines[0]).toBe('arch/x86/kvm/x86.c:120:3: error: kvm->lock taken while kvm->slots_lock is held (locking.rst:16) [lock-order]');
    expect(lines[1]).toBe('    arch/x86/kvm/x86.c:111:2: note: kvm->slots_lock held here');
    expect(lines[2]).toBe('    virt/kvm/kvm_main.c:41:2: note: kvm->lock taken here');
    expect(lines[3]).toBe('arch/x86/kvm/mmu/mmu.c:10:1: information: flush result dropped [spte-tlb-flush]');
  });

  it('puts notes and a summary on stderr', () => {
    const footer = renderTextFooter(report, ROOT);
    expect(footer).toContain('blob.c: note: skipped: binary content');
    expect(footer.trimEnd().split('\n').pop()).toMatch(/^kvm-locklint: 3 files, 1 error\(s\), 0 warning\(s\), 1 information; rules: built-in; \d+ ms$/);
  });
});

describe('JSON format', () => {
  it('is the object of DESIGN.md with 1-based positions', () => {
    const json = JSON.parse(JSON.stringify(toJsonReport(report, ROOT)));
    expect(json).toMatchObject({ tool: 'kvm-locklint', rulesSource: 'built-in', files: 3, stats: { functions: 12, lockEvents: 34 } });
    expect(typeof json.version).toBe('string');
    expect(typeof json.stats.ms).toBe('number');
    expect(json.diagnostics[0]).toEqual({
      file: 'arch/x86/kvm/x86.c',
      line: 120,
      column: 3,
      endLine: 120,
      endColumn: 30,
      severity: 'error',
      code: 'lock-order',
      message: 'kvm->lock taken while kvm->slots_lock is held',
      ruleRef: 'locking.rst:16',
      function: 'kvm_vm_ioctl_set_thing',
      related: [
        { file: 'arch/x86/kvm/x86.c', line: 111, column: 2, endLine: 111, endColumn: 7, message: 'kvm->slots_lock held here' },
        { file: 'virt/kvm/kvm_main.c', line: 41, column: 2, endLine: 41, endColumn: 7, message: 'kvm->lock taken here' },
      ],
    });
    expect(json.notes).toEqual([{ file: 'blob.c', message: 'skipped: binary content' }]);
  });
});

// The required properties and value constraints of the SARIF 2.1.0 schema that a result of this
// tool can break, written out by hand (no schema validator or network here).
function checkSarif(log: any): string[] {
  const problems: string[] = [];
  const req = (cond: unknown, what: string) => {
    if (!cond) problems.push(what);
  };
  const isInt = (v: unknown, min: number) => Number.isInteger(v) && (v as number) >= min;
  const message = (m: any, where: string) => req(m && (typeof m.text === 'string' || typeof m.id === 'string'), `${where}: message needs text or id`);
  const physical = (p: any, where: string) => {
    req(p && (p.artifactLocation || p.address), `${where}: physicalLocation needs artifactLocation or address`);
    const a = p?.artifactLocation;
    if (a) {
      req(typeof a.uri === 'string' && !/\s/.test(a.uri), `${where}: artifactLocation.uri must be a uri-reference`);
      req(a.uriBaseId === undefined || typeof a.uriBaseId === 'string', `${where}: uriBaseId`);
    }
    const r = p?.region;
    if (r) {
      for (const k of ['startLine', 'startColumn', 'endLine', 'endColumn']) {
        req(r[k] === undefined || isInt(r[k], 1), `${where}: region.${k} must be an integer >= 1`);
      }
      req(r.endLine === undefined || r.endLine >= r.startLine, `${where}: region ends before it starts`);
    }
  };
  req(log.version === '2.1.0', 'version must be 2.1.0');
  req(log.$schema === SARIF_SCHEMA, '$schema');
  req(Array.isArray(log.runs) && log.runs.length === 1, 'one run');
  const run = log.runs?.[0];
  const driver = run?.tool?.driver;
  req(driver && typeof driver.name === 'string', 'run.tool.driver.name is required');
  req(/^https?:|^file:/.test(driver?.informationUri ?? ''), 'driver.informationUri must be an absolute uri');
  const rules: any[] = driver?.rules ?? [];
  req(new Set(rules.map((r) => r.id)).size === rules.length, 'rule ids unique');
  for (const r of rules) {
    req(typeof r.id === 'string', 'rule.id is required');
    req(typeof r.shortDescription?.text === 'string', `${r.id}: shortDescription.text`);
    req(typeof r.fullDescription?.text === 'string', `${r.id}: fullDescription.text`);
    req(['none', 'note', 'warning', 'error'].includes(r.defaultConfiguration?.level), `${r.id}: defaultConfiguration.level`);
    req(/^(https?|file):\/\/.*#/.test(r.helpUri ?? ''), `${r.id}: helpUri must be absolute, pointing at the rule`);
  }
  for (const [name, base] of Object.entries<any>(run?.originalUriBaseIds ?? {})) {
    req(/^file:\/\/.*\/$/.test(base.uri), `originalUriBaseIds.${name} must be an absolute directory uri`);
  }
  for (const inv of run?.invocations ?? []) {
    req(typeof inv.executionSuccessful === 'boolean', 'invocation.executionSuccessful is required');
    for (const n of inv.toolExecutionNotifications ?? []) message(n.message, 'notification');
  }
  req(Array.isArray(run?.results), 'run.results');
  for (const [i, res] of (run?.results ?? []).entries()) {
    const where = `results[${i}]`;
    message(res.message, where);
    req(['none', 'note', 'warning', 'error'].includes(res.level), `${where}: level`);
    req(res.ruleIndex === undefined || (isInt(res.ruleIndex, 0) && rules[res.ruleIndex]?.id === res.ruleId), `${where}: ruleIndex must point at ruleId`);
    req(Array.isArray(res.locations) && res.locations.length > 0, `${where}: locations`);
    for (const loc of res.locations ?? []) physical(loc.physicalLocation, where);
    for (const rel of res.relatedLocations ?? []) {
      req(isInt(rel.id, 0), `${where}: relatedLocation.id must be an integer >= 0`);
      message(rel.message, `${where} related`);
      physical(rel.physicalLocation, `${where} related`);
    }
    for (const flow of res.codeFlows ?? []) {
      req(Array.isArray(flow.threadFlows) && flow.threadFlows.length > 0, `${where}: codeFlow.threadFlows needs an item`);
      for (const tf of flow.threadFlows ?? []) {
        req(Array.isArray(tf.locations) && tf.locations.length > 0, `${where}: threadFlow.locations needs an item`);
        for (const tfl of tf.locations ?? []) physical(tfl.location?.physicalLocation, `${where} flow`);
      }
    }
    for (const v of Object.values(res.partialFingerprints ?? {})) req(typeof v === 'string', `${where}: fingerprints are strings`);
  }
  return problems;
}

describe('SARIF format', () => {
  const sarif: any = JSON.parse(JSON.stringify(toSarif(report, ROOT, RULE_INFO)));

  it('meets the required properties of the SARIF 2.1.0 schema', () => {
    expect(checkSarif(sarif)).toEqual([]);
  });

  it('describes all twelve rules, with their default levels', () => {
    const rules = sarif.runs[0].tool.driver.rules;
    expect(rules).toHaveLength(12);
    expect(rules.find((r: any) => r.id === 'lock-order').defaultConfiguration.level).toBe('error');
    expect(rules.find((r: any) => r.id === 'lock-order').helpUri).toMatch(/docs\/rules\.md#lock-order$/);
  });

  it('locates results relative to %SRCROOT% and carries the chain as related locations and a code flow', () => {
    const [res, note] = sarif.runs[0].results;
    expect(res).toMatchObject({ ruleId: 'lock-order', level: 'error' });
    expect(res.locations[0].physicalLocation).toEqual({
      artifactLocation: { uri: 'arch/x86/kvm/x86.c', uriBaseId: '%SRCROOT%' },
      region: { startLine: 120, startColumn: 3, endLine: 120, endColumn: 30 },
    });
    expect(res.relatedLocations.map((r: any) => [r.id, r.message.text])).toEqual([
      [1, 'kvm->slots_lock held here'],
      [2, 'kvm->lock taken here'],
    ]);
    const steps = res.codeFlows[0].threadFlows[0].locations;
    expect(steps.map((s: any) => s.location.physicalLocation.artifactLocation.uri)).toEqual([
      'arch/x86/kvm/x86.c',
      'virt/kvm/kvm_main.c',
      'arch/x86/kvm/x86.c',
    ]);
    expect(note.level).toBe('note');
    expect(sarif.runs[0].originalUriBaseIds['%SRCROOT%'].uri).toBe('file:///src/linux/');
    expect(sarif.runs[0].invocations[0].toolExecutionNotifications[0].message.text).toBe('skipped: binary content');
  });

  it('fingerprints stay the same when the finding moves, and differ between functions', () => {
    const moved = { ...finding, range: at(300, 4) };
    expect(fingerprint(moved)).toBe(fingerprint(finding));
    expect(fingerprint({ ...finding, functionName: 'other' })).not.toBe(fingerprint(finding));
  });

  it('catches a broken log (the checker itself can fail)', () => {
    const broken = JSON.parse(JSON.stringify(sarif));
    broken.runs[0].results[0].ruleIndex = 5;
    delete broken.runs[0].results[0].message;
    broken.runs[0].results[0].locations[0].physicalLocation.region.startLine = 0;
    expect(checkSarif(broken)).toHaveLength(3);
  });
});
