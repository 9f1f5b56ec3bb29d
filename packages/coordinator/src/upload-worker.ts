/**
 * A coordinator upload worker thread (upload-hashers.ts starts it): for each
 * upload it runs the sha256 of the upload's bytes and the finiteness check of
 * its values (and takes parts of the commits' folds, UploadWorkerPool.fold), reading the values where the event loop staged them (shared
 * memory, ClientContribution.stageBytes) and the PFLT header bytes from the
 * messages, in stream order. The check is core's, the one the in-loop path
 * runs (checkStagedFinite), so both refuse the same values with the same words.
 */
import { createHash, type Hash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort } from 'node:worker_threads';
// core's aggregate module alone: its whole index (zod, linalg, ...) cost each worker ~20 MiB.
import { checkStagedFinite, foldRange } from '@pfedlora/core/dist/aggregate';
import { foldParts } from './upload-fold';
import type { FromUploadWorker, ToUploadWorker } from './upload-hashers';

interface Upload {
  readonly hash: Hash;
  readonly staging: readonly Float32Array[];
  readonly bytes: readonly Uint8Array[];
  readonly names: readonly string[];
  failed?: string;
}

const uploads = new Map<number, Upload>();

/**
 * This thread's handles on the staging and the sums keep that shared memory
 * alive until this isolate collects them, and its small heap rarely triggers a
 * collection: the staging the pool gave up stayed resident (+240 MiB of RSS in
 * bench memory). So each upload's end runs a collection here (a tiny heap: ~1 ms).
 */
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;
let collecting = false;
function collectSoon(): void {
  if (collecting) return;
  collecting = true;
  setImmediate(() => {
    collecting = false;
    collect();
  });
}
const port = parentPort!;
const post = (m: FromUploadWorker) => port.postMessage(m);

port.on('message', (m: ToUploadWorker) => {
  switch (m.op) {
    case 'begin':
      uploads.set(m.id, { hash: createHash('sha256'), staging: m.staging, bytes: m.staging.map((s) => new Uint8Array(s.buffer, s.byteOffset, s.byteLength)), names: m.names });
      return;
    case 'chunk': {
      const u = uploads.get(m.id);
      if (u && u.failed === undefined) {
        try {
          for (const op of m.ops) {
            if (op instanceof Uint8Array) u.hash.update(op);
            else {
              const [t, b0, b1, v0, v1] = op;
              u.hash.update(u.bytes[t]!.subarray(b0, b1));
              if (v0 < v1) checkStagedFinite(u.staging[t]!, u.names[t]!, v0, v1);
            }
          }
        } catch (error) {
          u.failed = (error as Error).message;
          post({ id: m.id, failed: u.failed });
        }
      }
      post({ done: m.bytes });
      return;
    }
    case 'digest': {
      const u = uploads.get(m.id);
      uploads.delete(m.id);
      collectSoon();
      if (!u) post({ id: m.id, failed: 'upload unknown to its worker' });
      else if (u.failed === undefined) post({ id: m.id, digest: u.hash.digest('hex') }); // else its failure was posted already
      return;
    }
    case 'drop':
      uploads.delete(m.id);
      collectSoon();
      return;
    case 'fold':
      foldParts(m.job, foldRange);
  }
});
