#!/usr/bin/env node
// `npm start`: one line before `tsc -b`, which says nothing while it compiles
// (a first build takes a while; an up-to-date one, about a second).
process.stderr.write('npm start: compiling the TypeScript packages (tsc -b packages/cli), then starting pfedlora cluster...\n');
