#!/usr/bin/env node
/**
 * A team's own CNN (model.json) on its own image folder, federated with two
 * clients running built-in CNNs on Fashion-MNIST (IDX), on this machine over
 * gRPC. One command from the repository root:
 *
 *   npm run example:keras-image-folder            (or: node examples/keras-image-folder/run.js [--rounds N])
 *
 * It writes the image folder (PNG files cut from the shipped Fashion-MNIST
 * subset: the team's "own images"), saves the team's CNN as model.json, then
 * starts the coordinator and three client processes. See README.md here.
 */
'use strict';
const { mkdtempSync, mkdirSync } = require('node:fs');
const { tmpdir } = require('node:os');
const path = require('node:path');
const { finishRun, freePort, requireBuild, runProcesses, runScript } = require('../federation');

async function main() {
  requireBuild();
  const rounds = process.argv.includes('--rounds') ? process.argv[process.argv.indexOf('--rounds') + 1] : '5';
  const work = mkdtempSync(path.join(tmpdir(), 'pfedlora-keras-image-folder-'));
  const images = path.join(work, 'site-a-images');
  const model = path.join(work, 'site-a-cnn');
  const stateDir = path.join(work, 'coordinator-state');
  mkdirSync(path.join(work, 'logs'));
  process.stdout.write(`work folder: ${work}\n`);
  await runScript('scripts/make-fashion-image-folder.js', [images, '--classes', 'trouser,dress,sandal,bag', '--train-per-class', '150', '--test-per-class', '50']);
  await runScript('examples/keras-image-folder/make-model.js', [model]);
  const port = String(await freePort());
  const common = ['--coordinator', `127.0.0.1:${port}`, '--backend', 'wasm', '--insecure'];
  process.stdout.write('\nstarting (plaintext on 127.0.0.1; across machines use mutual TLS, docs/security.md):\n');
  const codes = await runProcesses(
    [
      { name: 'coordinator', args: ['coordinator', '--host', '127.0.0.1', '--port', port, '--admin-port', 'off', '--rounds', rounds, '--min-clients', '3', '--batch-size', '32', '--state-dir', stateDir, '--insecure'] },
      { name: 'zoo-0', args: ['client', '--client-id', 'zoo-0', '--model', 'cnn1', '--data-dir', 'subset', '--shard', '0/2', '--max-samples', '600', ...common] },
      { name: 'zoo-1', args: ['client', '--client-id', 'zoo-1', '--model', 'cnn3', '--data-dir', 'subset', '--shard', '1/2', '--max-samples', '600', ...common] },
      { name: 'site-a', args: ['client', '--client-id', 'site-a', '--model-file', path.join(model, 'model.json'), '--data-format', 'image-folder', '--data-dir', images, '--state-dir', path.join(work, 'site-a-state'), ...common] },
    ],
    path.join(work, 'logs'),
  );
  finishRun(codes, path.join(work, 'logs'), stateDir);
}

main().catch((error) => {
  process.stderr.write(`example: ${error.message}\n`);
  process.exit(1);
});
