#!/usr/bin/env node
// Runs before `tsc -b` (npm run build): deletes compiled files in packages/*/dist
// whose source in packages/*/src is gone. tsc never removes outputs of deleted or
// moved sources, and Node resolves `require('./fedproto')` to a stale
// dist/fedproto.js before the current dist/fedproto/index.js: a checkout updated
// across a move would otherwise run old code with no error at all.
'use strict';
const { existsSync, readdirSync, rmSync, statSync } = require('node:fs');
const { join, relative } = require('node:path');

// The packages folder: this repository's, or the one given (tests).
const root = process.argv[2] ?? join(__dirname, '..', 'packages');
const OUTPUT = /\.(d\.ts\.map|d\.ts|js\.map|js)$/;

/** Every file under `dir`. */
function* filesUnder(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(path);
    else yield path;
  }
}

/** Removes the folders under `dir` (not `dir` itself) left empty. */
function removeEmptyFolders(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const path = join(dir, entry.name);
    removeEmptyFolders(path);
    if (readdirSync(path).length === 0) rmSync(path, { recursive: true });
  }
}

let removed = 0;
for (const pkg of readdirSync(root)) {
  const dist = join(root, pkg, 'dist');
  const src = join(root, pkg, 'src');
  if (!existsSync(dist) || !statSync(dist).isDirectory() || !existsSync(src)) continue;
  for (const file of filesUnder(dist)) {
    const match = OUTPUT.exec(file);
    if (!match) continue;
    const stem = relative(dist, file).slice(0, -match[0].length);
    if (existsSync(join(src, `${stem}.ts`))) continue;
    rmSync(file);
    removed++;
  }
  removeEmptyFolders(dist);
}
if (removed > 0) process.stderr.write(`build: removed ${removed} compiled file(s) whose source no longer exists (packages/*/dist)\n`);
