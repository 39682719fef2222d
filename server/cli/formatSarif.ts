/**
 * `--format sarif`: SARIF 2.1.0, one run. Locations are relative to %SRCROOT% (the --root
 * directory); the witness chain is given twice, as relatedLocations (for viewers that list them)
 * and as a codeFlow (for viewers that step through it).
 */
import { createHash } from 'node:crypto';
import type { Finding, RelatedLocation, Severity } from '../checks/finding';
import type { CheckReport } from './check';
import { displayPath } from './paths';
import { messageWithRef } from './formatText';
import { TOOL_NAME, fileUri, informationUri, ruleDocUri, toolVersion } from './packageInfo';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

/** What SARIF needs to know of a rule (from server/checks/registry.ts). */
export interface SarifRuleInfo {
  code: string;
  severity: Severity;
  description: string;
  /** A longer explanation, when the registry has one. */
  details?: string;
}

export type SarifLevel = 'error' | 'warning' | 'note';

export function sarifLevel(s: Severity): SarifLevel {
  return s === 'information' ? 'note' : s;
}

const SRCROOT = '%SRCROOT%';

export function toSarif(report: CheckReport, root: string, rules: SarifRuleInfo[]): object {
  const ruleIndex = new Map(rules.map((r, i) => [r.code, i]));
  const physical = (file: string, range: Finding['range']) => ({
    artifactLocation: { uri: relativeUri(root, file), uriBaseId: SRCROOT },
    region: {
      startLine: range.start.line + 1,
      startColumn: range.start.column + 1,
      endLine: range.end.line + 1,
      endColumn: range.end.column + 1,
    },
  });

  const results = report.findings.map((f) => {
    const index = ruleIndex.get(f.code);
    const related = f.related.map((r: RelatedLocation, i) => ({
      id: i + 1,
      message: { text: r.message },
      physicalLocation: physical(r.file, r.range),
    }));
    return {
      ruleId: f.code,
      ...(index !== undefined ? { ruleIndex: index } : {}),
      level: sarifLevel(f.severity),
      message: { text: messageWithRef(f) },
      locations: [{ physicalLocation: physical(f.file, f.range) }],
      ...(related.length ? { relatedLocations: related } : {}),
      ...(f.related.length
        ? {
            codeFlows: [
              {
                threadFlows: [
                  {
                    locations: [...f.related, { file: f.file, range: f.range, message: f.message }].map((r, i) => ({
                      executionOrder: i + 1,
                      location: { physicalLocation: physical(r.file, r.range), message: { text: r.message } },
                    })),
                  },
                ],
              },
            ],
          }
        : {}),
      partialFingerprints: { 'kvmLocklint/v1': fingerprint(f) },
      ...(f.functionName ? { properties: { function: f.functionName } } : {}),
    };
  });

  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: TOOL_NAME,
            version: toolVersion(),
            semanticVersion: toolVersion(),
            informationUri: informationUri(),
            rules: rules.map((r) => ({
              id: r.code,
              name: camel(r.code),
              shortDescription: { text: r.description },
              fullDescription: { text: r.details ?? r.description },
              defaultConfiguration: { level: sarifLevel(r.severity) },
              helpUri: ruleDocUri(r.code),
            })),
          },
        },
        originalUriBaseIds: { [SRCROOT]: { uri: fileUri(root).replace(/\/?$/, '/') } },
        invocations: [
          {
            executionSuccessful: true,
            toolExecutionNotifications: report.notes.map((n) => ({
              level: 'note',
              message: { text: n.message },
              locations: [{ physicalLocation: { artifactLocation: { uri: relativeUri(root, n.file), uriBaseId: SRCROOT } } }],
            })),
          },
        ],
        results,
      },
    ],
  };
}

/** Stable across runs and unrelated edits: the rule, the function and the message. */
export function fingerprint(f: Finding): string {
  return createHash('sha256')
    .update(`${f.code}\0${f.functionName ?? ''}\0${f.message}`)
    .digest('hex')
    .slice(0, 32);
}

function relativeUri(root: string, file: string): string {
  return displayPath(root, file).split('/').map(encodeURIComponent).join('/');
}

function camel(code: string): string {
  return code.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()).replace(/^./, (c) => c.toUpperCase());
}
