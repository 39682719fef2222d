#!/usr/bin/env node
'use strict';
// The command line; the code lives in the bundle built by `npm run build`.
const path = require('path');
const fs = require('fs');
const bundle = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(bundle)) {
  process.stderr.write('kvm-locklint: dist/cli.js is missing; run `npm run build` first\n');
  process.exit(2);
}
require(bundle).runFromProcess();
