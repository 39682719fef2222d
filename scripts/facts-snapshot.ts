/**
 * Writes the FileFacts of a KVM tree as JSON (one file per line) and prints their SHA-256, to
 * check that a front-end change leaves the facts identical:
 *
 *   npx vite-node scripts/facts-snapshot.ts OUT.jsonl [KERNEL_DIR]      (default ../kernel)
 *
 * Run it before and after the change and compare the hashes (or diff the two files).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { initFrontend, parseAndExtract } from '../server/frontend/index';
import { collectCFiles } from '../server/cli/files';

const DIRS = ['arch/x86/kvm', 'virt/kvm', 'arch/arm64/kvm'];

async function main(): Promise<void> {
  const out = process.argv[2];
  if (!out) throw new Error('usage: facts-snapshot.ts OUT.jsonl [KERNEL_DIR]');
  const root = path.resolve(process.argv[3] ?? path.join(__dirname, '../../kernel'));
  const dirs = DIRS.map((d) => path.join(root, d)).filter((d) => fs.existsSync(d));
  const files = collectCFiles(dirs);
  await initFrontend();
  const hash = crypto.createHash('sha256');
  const lines: string[] = [];
  for (const file of files) {
    const facts = parseAndExtract(path.relative(root, file), fs.readFileSync(file, 'utf8'));
    const line = JSON.stringify(facts);
    hash.update(line + '\n');
    lines.push(line);
  }
  fs.writeFileSync(out, lines.join('\n') + '\n');
  console.log(`${files.length} files, sha256 ${hash.digest('hex')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
