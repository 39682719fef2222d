/** Between the analyzer's world (paths, findings) and the protocol's (URIs, diagnostics). */
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  DiagnosticSeverity,
  type Diagnostic,
  type DiagnosticRelatedInformation,
} from 'vscode-languageserver/node';
import type { Finding, Severity } from '../checks/finding';
import { messageWithRef } from '../cli/formatText';
import { ruleDocUri } from '../cli/packageInfo';
import { fixDataOf } from './codeActions';

export const SOURCE = 'kvm-locklint';

/**
 * The workspace key of a document: its file-system path for `file:` URIs, the URI itself for
 * anything else (untitled buffers), so such documents still get checked but never clash with files.
 */
export function uriToPath(uri: string): string {
  if (uri.startsWith('file:')) {
    try {
      return fileURLToPath(uri);
    } catch {
      // A malformed file URI: keep the URI as the key.
    }
  }
  return uri;
}

export function pathToUri(p: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(p) && !/^[a-z]:[\\/]/i.test(p)) return p; // already a URI
  return pathToFileURL(p).href;
}

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
};

export function toDiagnostic(f: Finding): Diagnostic {
  const related: DiagnosticRelatedInformation[] = f.related.map((r) => ({
    location: { uri: pathToUri(r.file), range: toLspRange(r.range) },
    message: r.message,
  }));
  return {
    range: toLspRange(f.range),
    severity: SEVERITY[f.severity] ?? DiagnosticSeverity.Warning,
    code: f.code,
    codeDescription: { href: ruleDocUri(f.code) },
    source: SOURCE,
    message: messageWithRef(f),
    ...(related.length ? { relatedInformation: related } : {}),
    ...dataField(f),
  };
}

/** What the quick fixes need (codeActions.ts), carried back to the server by the editor. */
function dataField(f: Finding): { data?: unknown } {
  const data = fixDataOf(f);
  return data ? { data } : {};
}

export function toLspRange(r: Finding['range']): { start: { line: number; character: number }; end: { line: number; character: number } } {
  return {
    start: { line: r.start.line, character: r.start.column },
    end: { line: r.end.line, character: r.end.column },
  };
}

/** The text inserted by the "Suppress CODE on this line" code action, given the line's text. */
export function suppressionEdit(lineText: string, code: string): { character: number; text: string } {
  const existing = /\/\*\s*kvm-locklint:\s*ignore\b([^*]*)\*\//.exec(lineText);
  if (existing) {
    const codes = existing[1].trim().split(/[\s,]+/).filter(Boolean);
    if (codes.includes(code)) return { character: lineText.length, text: '' };
    // Add the code to the comment already on the line.
    const closeAt = existing.index + existing[0].length - 2;
    const before = lineText.slice(0, closeAt).replace(/\s+$/, '');
    return { character: before.length, text: ` ${code}` };
  }
  // Before a trailing `// comment`, so the suppression is not swallowed by it.
  const lineComment = lineCommentStart(lineText);
  const trimmed = lineText.slice(0, lineComment ?? lineText.length).replace(/\s+$/, '');
  return { character: trimmed.length, text: ` /* kvm-locklint: ignore ${code} */` };
}

/** Index of a `//` that starts a comment (not inside a string, char literal or block comment). */
function lineCommentStart(line: string): number | undefined {
  let quote: string | null = null;
  let block = false;
  for (let i = 0; i < line.length; i++) {
    const pair = line.slice(i, i + 2);
    if (block) {
      if (pair === '*/') {
        block = false;
        i++;
      }
    } else if (quote) {
      if (line[i] === '\\') i++;
      else if (line[i] === quote) quote = null;
    } else if (line[i] === '"' || line[i] === "'") {
      quote = line[i];
    } else if (pair === '/*') {
      block = true;
      i++;
    } else if (pair === '//') {
      return i;
    }
  }
  return undefined;
}
