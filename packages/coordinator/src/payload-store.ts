/**
 * Content-addressed payloads (PFLT bytes) served to clients: the current
 * global payload and the one before, so a client that reconnects right after
 * a round closed still resumes its download.
 */
import { encodeTensors, sha256Hex, specOf, type NamedTensor } from '@pfedlora/core';
import type { PayloadDescriptor } from '@pfedlora/protocol';

export interface StoredPayload {
  readonly descriptor: PayloadDescriptor;
  readonly bytes: Uint8Array;
}

export class PayloadStore {
  private readonly payloads = new Map<string, StoredPayload>();

  constructor(private readonly keep = 2) {}

  put(tensors: readonly NamedTensor[]): StoredPayload {
    const bytes = encodeTensors(tensors);
    const sha256 = sha256Hex(bytes);
    const stored: StoredPayload = { descriptor: { sha256, totalBytes: bytes.length, tensors: specOf(tensors) }, bytes };
    this.payloads.delete(sha256);
    this.payloads.set(sha256, stored);
    while (this.payloads.size > this.keep) this.payloads.delete(this.payloads.keys().next().value as string);
    return stored;
  }

  get(sha256: string): StoredPayload | undefined {
    return this.payloads.get(sha256);
  }
}
