#!/usr/bin/env node
'use strict';
// The language server; `--stdio` for any editor (VS Code starts dist/server.js over IPC itself).
const path = require('path');
const fs = require('fs');
const bundle = path.join(__dirname, '..', 'dist', 'server.js');
if (!fs.existsSync(bundle)) {
  process.stderr.write('kvm-locklint-lsp: dist/server.js is missing; run `npm run build` first\n');
  process.exit(2);
}
const transports = ['--stdio', '--node-ipc', '--pipe', '--socket'];
if (!process.argv.slice(2).some((a) => transports.some((t) => a === t || a.startsWith(t + '=')))) {
  process.argv.push('--stdio');
}
require(bundle);
