import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderRulesDoc, RULES_DOC } from '../../scripts/gen-rules-doc';
import { RULES } from '../../server/checks/registry';

describe('docs/rules.md', () => {
  it('is generated from the current rule metadata (run `npm run docs` after changing the registry)', () => {
    const committed = fs.readFileSync(path.resolve(__dirname, '../..', RULES_DOC), 'utf8');
    expect(committed).toBe(renderRulesDoc());
  });

  it('documents every code of DESIGN.md with an example of what it reports and what it does not', () => {
    const doc = renderRulesDoc();
    expect(RULES).toHaveLength(12);
    for (const r of RULES) {
      expect(doc).toContain(`## ${r.code}`);
    }
    expect(doc.match(/^Reported:$/gm)).toHaveLength(12);
    expect(doc.match(/^Not reported:$/gm)).toHaveLength(12);
  });
});
