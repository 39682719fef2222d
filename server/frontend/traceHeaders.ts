/**
 * Tracepoint headers (`trace.h`, `mmutrace.h`: TRACE_EVENT(...) definitions that end with
 * `#include <trace/define_trace.h>`) hold no function, struct, global, ops-table binding or
 * suppression the analysis reads, and are among the most expensive files to parse: tree-sitter
 * recovers from an error at almost every TP_* argument (x86's trace.h: ~560 ERROR nodes, 6% of
 * the parse time of x86 + virt in 2% of its text). A file made of nothing but such macros at
 * file scope gets empty facts without a parse.
 */
import { tokenize } from './cexpr';

/** File-scope macros of tracepoint headers, including local wrappers such as TRACE_EVENT_KVM_EXIT. */
const TRACE_MACRO = /^(?:TRACE_|DECLARE_EVENT|DEFINE_EVENT|DECLARE_TRACE|DEFINE_TRACE)/;

/**
 * Whether `text` is a tracepoint header: it includes trace/define_trace.h, and outside comments
 * and preprocessor lines it is only `TRACE_*(...)`-like invocations (each optionally followed by
 * `;`). Anything else at file scope (a static inline helper, a DEFINE_MUTEX, a suppression
 * comment) makes it an ordinary file.
 */
export function isTracepointHeader(text: string): boolean {
  if (!text.includes('trace/define_trace.h') || text.includes('kvm-locklint')) return false;
  const toks = tokenize(text, 0, text.length);
  let i = 0;
  while (i < toks.length) {
    const t = toks[i];
    if (t.k === 'p' && t.v === ';') {
      i++;
      continue;
    }
    if (t.k !== 'id' || !TRACE_MACRO.test(t.v) || toks[i + 1]?.v !== '(') return false;
    let depth = 0;
    for (i++; i < toks.length; i++) {
      const v = toks[i];
      if (v.k !== 'p') continue;
      if (v.v === '(') depth++;
      else if (v.v === ')' && --depth === 0) break;
    }
    if (depth !== 0) return false;
    i++;
  }
  return true;
}
