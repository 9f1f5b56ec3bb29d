/**
 * Data-parallel training as the training loops see it. A client trained on T
 * threads is T replicas of the same AlgorithmClient, one per thread, running
 * the same program on the same data (training-client.ts). Each batch is split
 * into T contiguous shards; replica r computes the gradient of its shard's
 * mean loss scaled by the shard's share of the batch, and the replicas sum
 * those (ReplicaGroup.allReduceSum, in rank order), so every replica holds the
 * whole batch's gradient and applies the same optimizer step. The result is
 * single-threaded training up to float summation order.
 *
 * The loops call shardOf(batch) and shardGradients(...) where they called
 * tf.variableGrads; outside a replica group both are the identity (the same
 * bits as before), so algorithms need no other change. What a loop reports
 * (losses, per-class sums) it sums over the group with reduceShardOutputs.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import * as tf from '@tensorflow/tfjs-core';
import type { Batch } from '../batches';
import type { ReplicaGroup } from './replica-group';

const scope = new AsyncLocalStorage<ReplicaGroup>();

/** shardGradients calls on split batches per group, so a loop can tell a step that took none (its replicas would drift apart). */
const summedSteps = new WeakMap<ReplicaGroup, number>();

/** How many split batches' gradients the current group has summed so far (0 outside a group). */
export function summedGradientCount(): number {
  const group = currentReplicaGroup();
  return group ? (summedSteps.get(group) ?? 0) : 0;
}

/** Runs `work` as this thread's replica of `group`: its training loops train on their shard of each batch. */
export function asReplica<T>(group: ReplicaGroup, work: () => Promise<T>): Promise<T> {
  return scope.run(group, work);
}

/** The replica group the current call trains in, if it has more than one replica. */
export function currentReplicaGroup(): ReplicaGroup | undefined {
  const group = scope.getStore();
  return group && group.size > 1 ? group : undefined;
}

/** This replica's rows of a batch. */
export interface BatchShard extends Batch {
  /** The shard's share of the whole batch (1 when not split): the weight of its mean loss. */
  readonly share: number;
  /** Its first row in the whole batch, and the whole batch's size. */
  readonly offset: number;
  readonly whole: number;
  /** Whether the batch was split, i.e. the shards' gradients and outputs must be summed over the group. */
  readonly split: boolean;
}

/**
 * This replica's contiguous rows of `batch`. A batch smaller than the group is
 * not split: every replica trains on all of it (same bits, nothing to sum).
 */
export function shardOf(batch: Batch): BatchShard {
  const group = currentReplicaGroup();
  if (!group || batch.size < group.size) return { features: batch.features, labels: batch.labels, size: batch.size, share: 1, offset: 0, whole: batch.size, split: false };
  const lo = Math.floor((group.rank * batch.size) / group.size);
  const hi = Math.floor(((group.rank + 1) * batch.size) / group.size);
  const width = batch.features.length / batch.size;
  return { features: batch.features.subarray(lo * width, hi * width), labels: batch.labels.subarray(lo, hi), size: hi - lo, share: (hi - lo) / batch.size, offset: lo, whole: batch.size, split: true };
}

/**
 * A tensor's values without a copy where the engine allows: a view into the
 * wasm heap, valid until the heap next grows (the all-reduce copies it out at
 * once). Other backends: dataSync.
 */
function valuesOf(t: tf.Tensor): Float32Array {
  const backend = tf.backend() as unknown as { typedArrayFromHeap?: (info: tf.TensorInfo) => Float32Array };
  return tf.getBackend() === 'wasm' && backend.typedArrayFromHeap ? backend.typedArrayFromHeap(t) : (t.dataSync() as Float32Array);
}

/** A reduced view as a tensor. wasm copies it into its heap; other backends may keep the array, so they get a copy. */
function tensorOf(values: Float32Array, shape: readonly number[]): tf.Tensor {
  return tf.tensor(tf.getBackend() === 'wasm' ? values : values.slice(), [...shape], 'float32');
}

/**
 * tf.variableGrads of the loss `f` on `shard`, returning the shard's own loss
 * and, when the batch was split, the whole batch's gradients: each replica's
 * gradient of share * loss, summed over the group. Call inside tf.tidy.
 */
export function shardGradients(shard: BatchShard, f: () => tf.Scalar, variables: readonly tf.Variable[]): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const group = currentReplicaGroup();
  if (!group || !shard.split) return tf.variableGrads(f, variables as tf.Variable[]);
  let value: tf.Scalar | undefined;
  const { grads } = tf.variableGrads(() => {
    value = tf.keep(f());
    return tf.mul(value, shard.share) as tf.Scalar;
  }, variables as tf.Variable[]);
  // Variable order, not the map's: tfjs names variables per thread, and every replica lists them alike.
  summedSteps.set(group, (summedSteps.get(group) ?? 0) + 1);
  const own = variables.map((v) => grads[v.name]!);
  const summed = group.allReduceSum(own.map(valuesOf));
  const out: tf.NamedTensorMap = {};
  variables.forEach((v, i) => {
    own[i]!.dispose();
    out[v.name] = tensorOf(summed[i]!, v.shape);
  });
  return { value: value!, grads: out };
}

/**
 * What a loop reports for a batch, over the whole batch: `loss` (the shard's
 * mean) becomes the batch's mean, and each of `sums` (totals over the shard's
 * samples) the batch's total. Outside a split batch, the values as given.
 */
export function reduceShardOutputs(shard: BatchShard, loss: number, sums: readonly Float32Array[] = []): { loss: number; sums: Float32Array[] } {
  const group = currentReplicaGroup();
  if (!group || !shard.split) return { loss, sums: [...sums] };
  const [total, ...rest] = group.allReduceSum([Float32Array.of(loss * shard.share), ...sums]);
  return { loss: total![0]!, sums: rest.map((s) => s.slice()) };
}

/**
 * The whole batch's per-sample rows (`width` floats each, in batch order) from
 * this replica's rows of its shard: every replica gets all of them (each adds
 * its rows where they go, zeros elsewhere). Outside a split batch, `rows`.
 */
export function gatherShardRows(shard: BatchShard, rows: Float32Array, width: number): Float32Array {
  const group = currentReplicaGroup();
  if (!group || !shard.split) return rows;
  const whole = new Float32Array(shard.whole * width);
  whole.set(rows, shard.offset * width);
  return group.allReduceSum([whole])[0]!.slice();
}
