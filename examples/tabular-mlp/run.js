#!/usr/bin/env node
/**
 * Clients with MLPs of different widths and depths on a real table, Seattle's
 * daily weather (node_modules/vega-datasets/data/seattle-weather.csv, 1461
 * days: precipitation, temperatures and wind -> drizzle, fog, rain, snow or
 * sun), plus one program that embeds the client with its own network
 * (examples/embedded-client). One command from the repository root:
 *
 *   npm run example:tabular-mlp            (or: node examples/tabular-mlp/run.js [--rounds N])
 *
 * The run's contract: the five weather classes, 4 input features, d = 64.
 */
'use strict';
const { mkdtempSync, mkdirSync } = require('node:fs');
const { tmpdir } = require('node:os');
const path = require('node:path');
const { finishRun, freePort, REPO, requireBuild, runProcesses } = require('../federation');

const CSV = path.join(REPO, 'node_modules', 'vega-datasets', 'data', 'seattle-weather.csv');

async function main() {
  requireBuild();
  const rounds = process.argv.includes('--rounds') ? process.argv[process.argv.indexOf('--rounds') + 1] : '10';
  const work = mkdtempSync(path.join(tmpdir(), 'pfedlora-tabular-mlp-'));
  const stateDir = path.join(work, 'coordinator-state');
  mkdirSync(path.join(work, 'logs'));
  process.stdout.write(`work folder: ${work}\ndata: ${path.relative(REPO, CSV)} (npm package vega-datasets)\n\nstarting:\n`);
  const port = String(await freePort());
  const common = ['--coordinator', `127.0.0.1:${port}`, '--backend', 'wasm', '--insecure'];
  const csv = ['--data-format', 'csv', '--data-dir', CSV, '--label-column', 'weather', '--ignore-columns', 'date', '--partition', 'dirichlet', '--alpha', '1'];
  const mlp = (k, model) => ({ name: `site-${k}`, args: ['client', '--client-id', `site-${k}`, '--model', model, '--shard', `${k}/3`, ...csv, ...common] });
  const codes = await runProcesses(
    [
      {
        name: 'coordinator',
        args: ['coordinator', '--host', '127.0.0.1', '--port', port, '--admin-port', 'off', '--rounds', rounds, '--min-clients', '4',
          '--classes', 'drizzle,fog,rain,snow,sun', '--input-shape', '4', '--representation-dim', '64', '--batch-size', '16', '--state-dir', stateDir, '--insecure'],
      },
      mlp(0, 'mlp1'),
      mlp(1, 'mlp2'),
      mlp(2, 'mlp3'),
      { name: 'embedded', script: 'examples/embedded-client/index.js', args: ['--coordinator', `127.0.0.1:${port}`, '--client-id', 'embedded'] },
    ],
    path.join(work, 'logs'),
  );
  finishRun(codes, path.join(work, 'logs'), stateDir);
}

main().catch((error) => {
  process.stderr.write(`example: ${error.message}\n`);
  process.exit(1);
});
