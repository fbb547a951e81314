#!/usr/bin/env node
// The `seer` CLI. The TypeScript sources are bundled into dist/ by `npm run build` (run by `npm ci`).
require('../dist/cli.js');
