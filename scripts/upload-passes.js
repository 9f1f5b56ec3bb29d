#!/usr/bin/env node
/**
 * Per-pass costs of a 16 MiB upload on the coordinator, and the event loop's
 * share of a whole upload with 0, 1 and 2 upload worker threads (the real
 * StagedUpload over 1 MiB chunks, then its commit), from the build (npm run
 * build first). Passes: CPU ms per 16 MiB (30 calls). Uploads: CPU ms per upload of the
 * event-loop thread (Linux: /proc/self/task/<pid>/stat, 10 ms ticks, so summed
 * over 20 uploads) and of the worker threads (the process's CPU minus the
 * loop's), which a loaded machine inflates less than wall time; and the best
 * wall ms. Usage: node scripts/upload-passes.js [MiB]
 */
const { performance } = require('node:perf_hooks');
const { createHash } = require('node:crypto');
const core = require('@pfedlora/core');
const { StagedUpload } = require('../packages/coordinator/dist/upload-admission.js');
const { InOrder, UploadWorkerPool } = require('../packages/coordinator/dist/upload-hashers.js');

const mib = Number(process.argv[2] ?? 16);
const half = (mib * 1024 * 1024) / 8;
const spec = [{ name: 'D', shape: [half] }, { name: 'U', shape: [half] }];
const tensors = spec.map((s, t) => ({ ...s, values: Float32Array.from({ length: half }, (_, i) => Math.sin(i + t) / 100) }));
const bytes = core.encodeTensors(tensors);
const sha256 = core.sha256Hex(bytes);
const chunks = core.splitIntoChunks(bytes, 1 << 20);
const form = { runId: 'r', spec, bytes: bytes.length, maxChunkBytes: 1 << 20 };
const header = { taskId: 't', payload: { sha256, totalBytes: bytes.length, tensors: spec } };
const UPLOADS = 20;
const { readFileSync } = require('node:fs');
/** CPU ms of the event-loop thread so far (utime + stime; 100 ticks per second). */
function loopCpuMs() {
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
const processCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
/** The loop thread's CPU ms per call of f, over 30 calls. */
const best = (f) => {
  const t = loopCpuMs();
  for (let i = 0; i < 30; i++) f();
  return (loopCpuMs() - t) / 30;
};

const values = tensors[0].values;
const sums = new Float64Array(values.length);
const staging = new Float32Array(values.length);
const passes = {
  sha256: best(() => createHash('sha256').update(bytes).digest()) ,
  copy: best(() => new Uint8Array(staging.buffer).set(bytes.subarray(0, staging.byteLength))) * 2,
  finite: best(() => core.checkStagedFinite(values, 'D', 0, values.length)) * 2,
  fold: best(() => core.foldRange(sums, values, 1.5, false)) * 2,
};

/** The loop's time in one upload (push calls, finish, the commit's fold) and its wall time. */
async function oneUpload(acc, workers, foldMs) {
  const hooks = { stillOpen: () => true, accepted: () => undefined, dropped: (why) => { throw new Error(why); } };
  const start = performance.now();
  let loop = 0;
  const upload = new StagedUpload(header, form, 1, acc.beginClient(1), hooks, workers);
  for (const chunk of chunks) {
    const t = performance.now();
    const backlog = upload.push(chunk);
    loop += performance.now() - t;
    if (backlog) await backlog;
  }
  foldMs.value = 0;
  const t = performance.now();
  const done = upload.finish();
  loop += performance.now() - t;
  await done;
  return { loop: loop + (workers ? foldMs.value : 0), wall: performance.now() - start };
}

async function main() {
  const out = { mib, passesMs: Object.fromEntries(Object.entries(passes).map(([k, v]) => [k, +v.toFixed(2)])), uploads: [] };
  for (const threads of [0, 1, 2]) {
    const pool = new core.ArrayPool(4 * bytes.length, { shared: threads > 0 });
    const workerPool = threads > 0 ? new UploadWorkerPool(threads) : undefined;
    const foldMs = { value: 0 };
    const fold = workerPool && ((s, v, w, f) => { const t = performance.now(); workerPool.fold(s, v, w, f); foldMs.value += performance.now() - t; });
    const workers = workerPool && { pool: workerPool, commits: new InOrder(), fold };
    const acc = new core.WeightedMeanAccumulator(spec, { pool, ...(fold ? { fold } : {}) });
    await oneUpload(acc, workers, foldMs); // workers starting, the sums' first fold
    let wall = Infinity;
    const loop0 = loopCpuMs();
    const all0 = processCpuMs();
    for (let i = 0; i < UPLOADS; i++) wall = Math.min(wall, (await oneUpload(acc, workers, foldMs)).wall);
    const loopCpu = (loopCpuMs() - loop0) / UPLOADS;
    const workerCpu = (processCpuMs() - all0) / UPLOADS - loopCpu;
    out.uploads.push({ threads, loopCpuMs: +loopCpu.toFixed(1), workerCpuMs: +workerCpu.toFixed(1), bestWallMs: +wall.toFixed(1) });
    await workerPool?.close();
  }
  out.loadAverage1m = require('node:os').loadavg()[0];
  console.log(JSON.stringify(out));
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
