/**
 * The `kvmLocklint` settings as the server uses them. Whatever the client sends is checked here:
 * unknown codes, wrong types and silly sizes are dropped, never trusted.
 */
import type { RuleCode, Severity } from '../checks/finding';
import type { CodeSetting } from '../engine/api';
import { RULE_CODES, SEVERITIES } from '../cli/args';

export interface Settings {
  /** An explicit locking document for every file (absolute, or relative to the first workspace folder). */
  rulesFile: string | null;
  codes: Partial<Record<RuleCode, CodeSetting>>;
  maxFileSizeKB: number;
}

export const DEFAULT_SETTINGS: Settings = { rulesFile: null, codes: {}, maxFileSizeKB: 2048 };

export function sanitizeSettings(raw: unknown): Settings {
  const obj = isObject(raw) ? raw : {};
  const rulesFile = typeof obj.rulesFile === 'string' && obj.rulesFile.trim() !== '' ? obj.rulesFile.trim() : null;
  const size = typeof obj.maxFileSizeKB === 'number' && Number.isFinite(obj.maxFileSizeKB) ? obj.maxFileSizeKB : DEFAULT_SETTINGS.maxFileSizeKB;
  const codes: Settings['codes'] = {};
  if (isObject(obj.codes)) {
    for (const [code, value] of Object.entries(obj.codes)) {
      if (!(RULE_CODES as readonly string[]).includes(code) || !isObject(value)) continue;
      const setting: CodeSetting = { enabled: value.enabled !== false };
      if (typeof value.severity === 'string' && (SEVERITIES as readonly string[]).includes(value.severity)) {
        setting.severity = value.severity as Severity;
      }
      codes[code as RuleCode] = setting;
    }
  }
  return { rulesFile, codes, maxFileSizeKB: Math.min(Math.max(Math.round(size), 1), 64 * 1024) };
}

export function sameSettings(a: Settings, b: Settings): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
