#!/usr/bin/env node
// Speaks native solc's command line over solc-js, so forge can compile offline: forge would
// otherwise download a native solc, which these machines cannot. Supports what forge uses:
// `--version` and `--standard-json` (input on stdin, output on stdout); other flags such as
// --allow-paths / --base-path / --include-path are read only to resolve imports.
import { readFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const solc = require('solc');
const args = process.argv.slice(2);

if (args.includes('--version')) {
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
  process.exit(0);
}

if (!args.includes('--standard-json')) {
  process.stderr.write(`solc-shim: only --version and --standard-json are supported (got: ${args.join(' ')})\n`);
  process.exit(1);
}

const roots = [process.cwd()];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--base-path' || args[i] === '--include-path') roots.push(resolve(args[i + 1]));
}

function findImports(path) {
  for (const root of roots) {
    const candidate = resolve(root, path);
    if (existsSync(candidate)) return { contents: readFileSync(candidate, 'utf8') };
  }
  return { error: `File not found: ${path} (searched ${roots.join(', ')})` };
}

const input = readFileSync(0, 'utf8');
process.stdout.write(solc.compile(input, { import: findImports }));
