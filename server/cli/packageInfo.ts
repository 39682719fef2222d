/**
 * Where the installed package lives and what version it is. The same code runs from the sources
 * (server/cli/, under vitest) and from the bundle (dist/), so the root is found by walking up to
 * our own package.json rather than by a fixed number of `..`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const TOOL_NAME = 'kvm-locklint';

interface PackageJson {
  name?: string;
  version?: string;
  homepage?: string;
  repository?: string | { url?: string };
}

let cached: { root: string; pkg: PackageJson } | undefined;

function locate(): { root: string; pkg: PackageJson } {
  if (cached) return cached;
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, 'package.json');
    try {
      const pkg = JSON.parse(fs.readFileSync(candidate, 'utf8')) as PackageJson;
      if (pkg.name === TOOL_NAME) return (cached = { root: dir, pkg });
    } catch {
      // not here: keep walking up
    }
    const parent = path.dirname(dir);
    if (parent === dir) return (cached = { root: path.resolve(__dirname, '..', '..'), pkg: {} });
    dir = parent;
  }
}

export function packageRoot(): string {
  return locate().root;
}

export function toolVersion(): string {
  return locate().pkg.version ?? '0.0.0';
}

/** The bundled example tree linted when no path is given. */
export function examplesDir(): string {
  return path.join(packageRoot(), 'examples');
}

/**
 * Where a rule is documented: docs/rules.md of the project's repository when package.json names
 * one, else the copy installed with the package (a file: URI works in editors and SARIF viewers).
 */
export function ruleDocUri(code: string): string {
  const web = webHome();
  if (web) return `${web}/blob/HEAD/docs/rules.md#${code}`;
  return `${fileUri(path.join(packageRoot(), 'docs', 'rules.md'))}#${code}`;
}

export function informationUri(): string {
  return webHome() ?? fileUri(path.join(packageRoot(), 'README.md'));
}

/** The project's web home from package.json (`homepage`, else `repository`), if it names one. */
function webHome(): string | undefined {
  const { pkg } = locate();
  const repo = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
  const web = (pkg.homepage ?? repo)?.replace(/^git\+/, '').replace(/\.git$/, '').replace(/\/+$/, '');
  return web && /^https?:\/\//.test(web) ? web : undefined;
}

/** file:///abs/path with each segment percent-encoded. */
export function fileUri(absPath: string): string {
  const posix = path.resolve(absPath).split(path.sep).join('/');
  const encoded = posix.split('/').map(encodeURIComponent).join('/');
  return `file://${encoded.startsWith('/') ? '' : '/'}${encoded}`;
}
