#!/usr/bin/env node
/**
 * Container health check for the pfedlora images (no dependencies, plain node).
 *
 *   node healthcheck.js [--timeout SEC] TARGET...   healthy when every target answers:
 *       HOST:PORT                     a TCP connection opens (the coordinator's gRPC port)
 *       http://HOST:PORT/PATH         GET answers 200 (the /healthz of --metrics-port)
 *   node healthcheck.js             finds the pfedlora process in this container and checks
 *                                   what it serves: a coordinator's --port (default 7070)
 *                                   by TCP, and /healthz on --metrics-port when given. A
 *                                   client without --metrics-port listens on nothing: it is
 *                                   healthy while its process runs.
 *
 * --timeout SEC (default 3) bounds each target. A training client answers /healthz only
 * between batches, which on a busy CPU can take seconds: give clients a longer timeout.
 * /healthz answers while the process's event loop runs; the TCP connect shows the gRPC
 * server listens. Neither says that rounds progress: `pfedlora rounds status` does.
 * Exit 0: healthy, 1: unhealthy (the reason goes to stderr; docker inspect shows it).
 */
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');

let TIMEOUT_MS = 3000;

/** argv of the pfedlora process in this PID namespace, or undefined. */
function findPfedlora() {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let argv;
    try {
      argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      continue;
    }
    const at = argv.findIndex((a) => a.endsWith('pfedlora.js') || a.endsWith('/pfedlora'));
    if (at >= 0) return argv.slice(at + 1);
  }
  return undefined;
}

function flagValue(args, name) {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}`) return args[i + 1];
    if (args[i].startsWith(`--${name}=`)) return args[i].slice(name.length + 3);
  }
  return undefined;
}

/** Where to reach a server bound to `host` from inside the container. */
function local(host) {
  return !host || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}

function checkTcp(host, port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(TIMEOUT_MS, () => {
      socket.destroy();
      reject(new Error(`${host}:${port}: no TCP connection within ${TIMEOUT_MS} ms`));
    });
    socket.once('connect', () => {
      socket.end();
      resolve(`${host}:${port} accepts connections`);
    });
    socket.once('error', (error) => reject(new Error(`${host}:${port}: ${error.message}`)));
  });
}

function checkHttp(url) {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { timeout: TIMEOUT_MS }, (response) => {
      response.resume();
      if (response.statusCode === 200) resolve(`${url} answered 200`);
      else reject(new Error(`${url} answered ${response.statusCode}`));
    });
    request.once('timeout', () => request.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    request.once('error', (error) => reject(new Error(`${url}: ${error.message}`)));
  });
}

function check(target) {
  if (/^https?:\/\//.test(target)) return checkHttp(target);
  const m = /^(.+):(\d+)$/.exec(target);
  if (!m) return Promise.reject(new Error(`expected HOST:PORT or http://HOST:PORT/PATH, got "${target}"`));
  return checkTcp(m[1].replace(/^\[|\]$/g, ''), Number(m[2]));
}

/** What the pfedlora process of this container serves, as targets. */
function autoTargets() {
  const args = findPfedlora();
  if (!args) throw new Error('no pfedlora process is running in this container');
  const command = args.find((a) => !a.startsWith('-'));
  const targets = [];
  if (command === 'coordinator') {
    const port = Number(flagValue(args, 'port') ?? 7070);
    // --port 0 picks a free port that only the log names.
    if (Number.isInteger(port) && port > 0) targets.push(`${local(flagValue(args, 'host'))}:${port}`);
  }
  const metricsPort = Number(flagValue(args, 'metrics-port'));
  if (Number.isInteger(metricsPort) && metricsPort > 0) targets.push(`http://${local(flagValue(args, 'metrics-host'))}:${metricsPort}/healthz`);
  return { command: command ?? '(no command)', targets };
}

async function main() {
  let targets = process.argv.slice(2);
  if (targets[0] === '--timeout') {
    const seconds = Number(targets[1]);
    if (!(seconds > 0)) throw new Error(`--timeout expects seconds > 0, got "${targets[1]}"`);
    TIMEOUT_MS = Math.round(seconds * 1000);
    targets = targets.slice(2);
  }
  if (targets.length === 0) {
    const auto = autoTargets();
    if (auto.targets.length === 0) return [`pfedlora ${auto.command} is running`];
    targets = auto.targets;
  }
  return Promise.all(targets.map(check));
}

main().then(
  (lines) => {
    process.stdout.write(`healthy: ${lines.join('; ')}\n`);
    process.exit(0);
  },
  (error) => {
    process.stderr.write(`unhealthy: ${error.message}\n`);
    process.exit(1);
  },
);
