import * as path from 'node:path';

/** A path as reported to users: relative to `root`, with forward slashes. */
export function displayPath(root: string, file: string): string {
  const rel = path.relative(root, file);
  return (rel === '' ? path.basename(file) : rel).split(path.sep).join('/');
}
