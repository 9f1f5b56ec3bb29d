/**
 * bench aggregate: the coordinator's server step, WeightedMeanAccumulator
 * (@pfedlora/core), over C clients' updates of S bytes, against a plain
 * Float32Array copy loop (dst[i] = src[i]) over the same bytes in the same run:
 *   add        whole updates (acc.add)
 *   stream     beginClient / addSlice in 1 MiB slices / commit
 *   upload     the Upload path without the network, as the coordinator runs it:
 *              PFLT TensorStreamDecoder.pushBytes over 1 MiB chunks + sha256 +
 *              addBytes + commit
 * and the round close the coordinator then does once: the pFedLoRA aggregator's
 * result() (mean, global + mean) and the payload store's encode + sha256.
 * Each repetition is a fresh accumulator (a round); as in the coordinator, the
 * accumulators take their sums and staging from one ArrayPool shared by the
 * repetitions and release them at the end (--no-pool: fresh buffers each time,
 * as before the pool existed).
 * Throughput counts the float32 update bytes folded (GB/s, 10^9 B/s).
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { ArrayPool, createRng, encodeTensors, sizeOfShape, splitIntoChunks, TensorStreamDecoder, WeightedMeanAccumulator, type NamedTensor, type TensorSpec } from '@pfedlora/core';
import { PayloadStore } from '@pfedlora/coordinator';
import { adapterSpec, indexClassNames, initialAdapter, pfedlora, REPRESENTATION_DIM } from '@pfedlora/ml';
import { adapterShapeForBytes } from './adapter-size';
import { GB, machineInfo, median, MIB, round, type MachineInfo, type TargetCheck } from './stats';
import { BENCH_INPUT } from './transport';

export interface AggregateOptions {
  readonly sizesMiB: readonly number[];
  readonly clients: number;
  /** Timed repetitions of each measurement (median reported). */
  readonly reps: number;
  readonly sliceBytes: number;
  /** Accumulators take sums and staging from an ArrayPool shared across repetitions (as the coordinator's rounds do). */
  readonly pool: boolean;
  readonly progress?: (line: string) => void;
}

export const DEFAULT_AGGREGATE: AggregateOptions = { sizesMiB: [16, 64], clients: 10, reps: 3, sliceBytes: MIB, pool: true };

export interface AggregateCase {
  readonly sizeMiB: number;
  /** float32 bytes of one update. */
  readonly updateBytes: number;
  readonly clients: number;
  readonly memcpyGBps: number;
  readonly addGBps: number;
  readonly streamGBps: number;
  readonly uploadPathGBps: number;
  /** addGBps / memcpyGBps, streamGBps / memcpyGBps, uploadPathGBps / memcpyGBps. */
  readonly ratioToMemcpy: { readonly add: number; readonly stream: number; readonly uploadPath: number };
  /** One round close: aggregator result() (mean and global + mean) and payload encode + sha256. */
  readonly roundCloseSeconds: number;
  /** The passes the Upload path is made of, alone, GB/s of float32 bytes (what limits the ratios). */
  readonly profile: AggregateProfile;
}

export interface AggregateProfile {
  /** sha256 of the PFLT payload. */
  readonly sha256: number;
  /** TensorStreamDecoder over 1 MiB chunks: copy into a fresh Float32Array per slice + finite check. */
  readonly decode: number;
  /** One Number.isFinite pass (done by the decoder, again by addSlice, again by add()). */
  readonly finiteCheck: number;
  /** Copy into freshly allocated staging arrays (ClientContribution without a pool, once per upload). */
  readonly stageFresh: number;
  /** Byte copy of the payload's values into staging reused from a pool (what addBytes copies). */
  readonly stagePooled: number;
  /** The branch-free finiteness scan (sum of x * 0) that addBytes / addSlice / add() run now. */
  readonly finiteScan: number;
  /** sum[j] += w * x[j] into Float64 sums already touched. */
  readonly foldWarm: number;
  /** The same into freshly allocated Float64 sums (first client of a round: page faults). */
  readonly foldFresh: number;
  /** The copy loop into a freshly allocated Float32Array (memcpy baseline with page faults). */
  readonly memcpyFresh: number;
}

export interface AggregateReport {
  readonly benchmark: 'aggregate';
  readonly machine: MachineInfo;
  readonly sliceBytes: number;
  readonly pool: boolean;
  readonly cases: AggregateCase[];
  readonly targets: TargetCheck[];
}

function randomUpdate(spec: readonly TensorSpec[], seed: number): NamedTensor[] {
  const rng = createRng(seed);
  return spec.map((s) => {
    const values = new Float32Array(sizeOfShape(s.shape));
    for (let i = 0; i < values.length; i++) values[i] = (rng.next() - 0.5) * 2e-3;
    return { name: s.name, shape: [...s.shape], values };
  });
}

function seconds(fn: () => void): number {
  const t = performance.now();
  fn();
  return (performance.now() - t) / 1000;
}

/** dst[i] = src[i] over every tensor of every client: the same bytes read as the fold reads. */
function copyLoop(dst: readonly Float32Array[], updates: readonly NamedTensor[][], clients: number): void {
  for (let k = 0; k < clients; k++) {
    const u = updates[k % updates.length]!;
    for (let t = 0; t < u.length; t++) {
      const src = u[t]!.values;
      const d = dst[t]!;
      for (let i = 0; i < src.length; i++) d[i] = src[i]!;
    }
  }
}

function streamInto(acc: WeightedMeanAccumulator, update: readonly NamedTensor[], weight: number, sliceValues: number): void {
  const c = acc.beginClient(weight);
  update.forEach((t, ti) => {
    for (let at = 0; at < t.values.length; at += sliceValues) c.addSlice(ti, at, t.values.subarray(at, Math.min(t.values.length, at + sliceValues)));
  });
  c.commit();
}

/** What Coordinator.beginUpload's sink does per chunk and at finish. */
function uploadPath(acc: WeightedMeanAccumulator, spec: readonly TensorSpec[], payload: Uint8Array, weight: number, chunkBytes: number): void {
  const c = acc.beginClient(weight);
  const decoder = new TensorStreamDecoder({ expected: spec, totalBytes: payload.length, maxBytes: payload.length });
  const hash = createHash('sha256');
  for (const chunk of splitIntoChunks(payload, chunkBytes)) {
    hash.update(chunk);
    for (const s of decoder.pushBytes(chunk)) c.addBytes(s.tensorIndex, s.byteOffset, s.bytes);
  }
  decoder.finish();
  hash.digest('hex');
  c.commit();
}

function profileOf(spec: readonly TensorSpec[], update: readonly NamedTensor[], payload: Uint8Array, updateBytes: number, o: AggregateOptions): AggregateProfile {
  const sliceValues = Math.max(1, Math.floor(o.sliceBytes / 4));
  const sums = update.map((t) => new Float64Array(t.values.length));
  const stagedBytes = update.map((t) => new Uint8Array(t.values.byteLength));
  const fold = (targets: readonly Float64Array[]) =>
    update.forEach((t, i) => {
      const sum = targets[i]!;
      const v = t.values;
      for (let j = 0; j < v.length; j++) sum[j] += 3 * v[j]!;
    });
  const passes: Record<keyof AggregateProfile, () => void> = {
    sha256: () => createHash('sha256').update(payload).digest(),
    decode: () => {
      const d = new TensorStreamDecoder({ expected: spec, totalBytes: payload.length });
      for (const chunk of splitIntoChunks(payload, o.sliceBytes)) d.push(chunk);
      d.finish();
    },
    finiteCheck: () => {
      for (const t of update) {
        const v = t.values;
        for (let j = 0; j < v.length; j++) if (!Number.isFinite(v[j]!)) throw new Error('non-finite');
      }
    },
    stageFresh: () => {
      for (const t of update) {
        const staged = new Float32Array(t.values.length);
        for (let at = 0; at < t.values.length; at += sliceValues) staged.set(t.values.subarray(at, at + sliceValues), at);
      }
    },
    stagePooled: () => {
      // The payload's value bytes (unaligned in the PFLT stream) into reused float32 staging, chunk by chunk.
      const d = new TensorStreamDecoder({ expected: spec, totalBytes: payload.length });
      for (const chunk of splitIntoChunks(payload, o.sliceBytes)) {
        for (const s of d.pushBytes(chunk)) stagedBytes[s.tensorIndex]!.set(s.bytes, s.byteOffset);
      }
    },
    finiteScan: () => {
      for (const t of update) {
        const v = t.values;
        let a = 0;
        let b = 0;
        let j = 0;
        for (; j + 1 < v.length; j += 2) {
          a += v[j]! * 0;
          b += v[j + 1]! * 0;
        }
        if (j < v.length) a += v[j]! * 0;
        if (a + b !== 0) throw new Error('non-finite');
      }
    },
    foldWarm: () => fold(sums),
    foldFresh: () => fold(update.map((t) => new Float64Array(t.values.length))),
    memcpyFresh: () => {
      for (const t of update) {
        const src = t.values;
        const dst = new Float32Array(src.length);
        for (let j = 0; j < src.length; j++) dst[j] = src[j]!;
      }
    },
  };
  const out: Partial<Record<keyof AggregateProfile, number>> = {};
  for (const [name, pass] of Object.entries(passes) as Array<[keyof AggregateProfile, () => void]>) {
    pass();
    const runs: number[] = [];
    for (let r = 0; r < Math.max(3, o.reps); r++) runs.push(updateBytes / seconds(pass) / GB);
    out[name] = round(median(runs), 3);
  }
  return out as AggregateProfile;
}

export function runAggregateCase(sizeMiB: number, o: AggregateOptions): AggregateCase {
  const shape = adapterShapeForBytes(sizeMiB * MIB);
  const setup = { input: BENCH_INPUT, numClasses: shape.numClasses, classNames: indexClassNames(shape.numClasses), representationDim: REPRESENTATION_DIM, rank: shape.rank, alpha: shape.rank };
  const spec = adapterSpec({ rank: shape.rank, alpha: shape.rank, numClasses: shape.numClasses, representationDim: REPRESENTATION_DIM });
  // Two distinct updates, alternated: more would only cost memory (each exceeds the caches anyway).
  const updates = [randomUpdate(spec, 1), randomUpdate(spec, 2)];
  const payloads = updates.map((u) => encodeTensors(u));
  const updateBytes = spec.reduce((n, s) => n + 4 * sizeOfShape(s.shape), 0);
  const total = updateBytes * o.clients;
  const dst = spec.map((s) => new Float32Array(sizeOfShape(s.shape)));
  const sliceValues = Math.max(1, Math.floor(o.sliceBytes / 4));
  const weight = (k: number) => 100 + 7 * k;
  const memcpy: number[] = [];
  const add: number[] = [];
  const stream: number[] = [];
  const upload: number[] = [];
  // The coordinator's pool holds one round's sums and its upload slots' staging; here uploads run one at a time.
  const pool = o.pool ? new ArrayPool(3 * updateBytes) : undefined;
  const fresh = () => new WeightedMeanAccumulator(spec, pool ? { pool } : {});
  // One untimed pass of each to warm the JIT.
  for (let r = 0; r <= o.reps; r++) {
    const tCopy = seconds(() => copyLoop(dst, updates, o.clients));
    const accA = fresh();
    const tAdd = seconds(() => {
      for (let k = 0; k < o.clients; k++) accA.add(updates[k % 2]!, weight(k));
    });
    accA.release();
    const accS = fresh();
    const tStream = seconds(() => {
      for (let k = 0; k < o.clients; k++) streamInto(accS, updates[k % 2]!, weight(k), sliceValues);
    });
    accS.release();
    const accU = fresh();
    const tUpload = seconds(() => {
      for (let k = 0; k < o.clients; k++) uploadPath(accU, spec, payloads[k % 2]!, weight(k), o.sliceBytes);
    });
    accU.release();
    if (r === 0) continue;
    memcpy.push(total / tCopy / GB);
    add.push(total / tAdd / GB);
    stream.push(total / tStream / GB);
    upload.push(total / tUpload / GB);
  }
  // Round close as the coordinator does it.
  const global = initialAdapter({ rank: shape.rank, alpha: shape.rank, numClasses: shape.numClasses, representationDim: REPRESENTATION_DIM }, 1);
  const closes: number[] = [];
  for (let r = 0; r < o.reps; r++) {
    const aggregator = pfedlora.createAggregator(global, setup, pool ? { pool } : {});
    for (let k = 0; k < 2; k++) aggregator.add(updates[k]!, weight(k));
    const store = new PayloadStore();
    closes.push(seconds(() => store.put(aggregator.result())));
    aggregator.release?.();
  }
  const m = median(memcpy);
  const result: AggregateCase = {
    sizeMiB,
    updateBytes,
    clients: o.clients,
    memcpyGBps: round(m, 3),
    addGBps: round(median(add), 3),
    streamGBps: round(median(stream), 3),
    uploadPathGBps: round(median(upload), 3),
    ratioToMemcpy: { add: round(median(add) / m, 3), stream: round(median(stream) / m, 3), uploadPath: round(median(upload) / m, 3) },
    roundCloseSeconds: round(median(closes), 3),
    profile: profileOf(spec, updates[0]!, payloads[0]!, updateBytes, o),
  };
  o.progress?.(
    `${sizeMiB} MiB x ${o.clients} clients: memcpy ${result.memcpyGBps} GB/s, add ${result.addGBps} (x${result.ratioToMemcpy.add}), ` +
      `stream ${result.streamGBps} (x${result.ratioToMemcpy.stream}), upload path ${result.uploadPathGBps} (x${result.ratioToMemcpy.uploadPath}), close ${result.roundCloseSeconds} s`,
  );
  return result;
}

export function runAggregateBench(o: AggregateOptions): AggregateReport {
  const cases = o.sizesMiB.map((s) => runAggregateCase(s, o));
  return {
    benchmark: 'aggregate',
    machine: machineInfo(),
    sliceBytes: o.sliceBytes,
    pool: o.pool,
    cases,
    targets: cases.flatMap((c) => [
      { name: `add ${c.sizeMiB} MiB`, target: '>= 0.4x memcpy', value: c.ratioToMemcpy.add, met: c.ratioToMemcpy.add >= 0.4 },
      { name: `stream ${c.sizeMiB} MiB`, target: '>= 0.4x memcpy', value: c.ratioToMemcpy.stream, met: c.ratioToMemcpy.stream >= 0.4 },
    ]),
  };
}
