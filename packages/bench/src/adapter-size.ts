/**
 * Adapter shapes of a given payload size. The pFedLoRA adapter is
 * D [500, r] + U [r, C] float32, so with the rank and class count free
 * (the library API accepts any CoordinatorConfig.data.numClasses) a payload
 * of almost any size can be made: 4 (500 r + r C) bytes plus a small header.
 */
import { encodedSizeOfSpec } from '@pfedlora/core';
import { adapterSpec, REPRESENTATION_DIM } from '@pfedlora/ml';

export interface AdapterShape {
  readonly rank: number;
  readonly numClasses: number;
  /** PFLT bytes of the adapter (and of one update), header included. */
  readonly payloadBytes: number;
}

/** The rank and class count whose adapter payload is closest to `targetBytes` (rank <= 500, classes >= 2). */
export function adapterShapeForBytes(targetBytes: number): AdapterShape {
  if (!Number.isFinite(targetBytes) || targetBytes < 4 * (REPRESENTATION_DIM + 2)) throw new RangeError(`adapter payload of ${targetBytes} bytes is too small`);
  const floats = targetBytes / 4;
  const rank = Math.max(1, Math.min(REPRESENTATION_DIM, Math.floor(floats / (REPRESENTATION_DIM + 2))));
  const numClasses = Math.max(2, Math.round(floats / rank - REPRESENTATION_DIM));
  return { rank, numClasses, payloadBytes: encodedSizeOfSpec(adapterSpec({ rank, alpha: rank, numClasses, representationDim: REPRESENTATION_DIM })) };
}

/** The realistic adapter of the paper's setting, e.g. rank 8 over 10 classes. */
export function adapterShape(rank: number, numClasses: number): AdapterShape {
  return { rank, numClasses, payloadBytes: encodedSizeOfSpec(adapterSpec({ rank, alpha: rank, numClasses, representationDim: REPRESENTATION_DIM })) };
}
