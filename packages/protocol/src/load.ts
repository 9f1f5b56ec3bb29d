/**
 * Loads proto/pfedlora/v1/*.proto once with @grpc/proto-loader (options that
 * match the committed generated types) and caches the package definition.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { EncodedPayloadChunk, passEncodedChunks, type PayloadChunkSerializer } from './download-wire';
import type { ProtoGrpcType as AdminGrpc } from './generated/admin';
import type { ProtoGrpcType as FederationGrpc } from './generated/federation';
import { payloadChunkToProto, type PayloadChunkInfo } from './serde';

/** The options the generated types were made with (package.json "generate"). */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};


/** proto/ at the repository root, found from the compiled (dist) or source (src) location. */
export function protoRoot(): string {
  const candidates = [process.env['PFEDLORA_PROTO_DIR'], resolve(__dirname, '..', '..', '..', 'proto')].filter((p): p is string => Boolean(p));
  for (const dir of candidates) if (existsSync(join(dir, 'pfedlora', 'v1', 'federation.proto'))) return dir;
  throw new Error(`pfedlora proto files not found (looked in ${candidates.join(', ')}); set PFEDLORA_PROTO_DIR`);
}

let federation: { readonly grpc: FederationGrpc; readonly serializeChunk: PayloadChunkSerializer } | undefined;

function loadFederation(): NonNullable<typeof federation> {
  if (!federation) {
    const definition = protoLoader.loadSync('pfedlora/v1/federation.proto', { ...PROTO_LOADER_OPTIONS, includeDirs: [protoRoot()] });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as FederationGrpc;
    // Download writes pre-encoded chunks as they are (download-wire.ts). Only a server uses a
    // response serializer, so the client side of this definition is unchanged.
    const download = loaded.pfedlora.v1.Federation.service.Download;
    const serializeChunk = download.responseSerialize;
    download.responseSerialize = passEncodedChunks(serializeChunk);
    federation = { grpc: loaded, serializeChunk };
  }
  return federation;
}

/** The Federation service; its Download response serializer also takes EncodedPayloadChunks. */
export function loadFederationProto(): FederationGrpc {
  return loadFederation().grpc;
}

/** `chunk` encoded once by the Download method's own serializer: the bytes grpc-js would put on the wire for it. */
export function encodePayloadChunk(chunk: PayloadChunkInfo): EncodedPayloadChunk {
  return EncodedPayloadChunk.encode(loadFederation().serializeChunk, payloadChunkToProto(chunk));
}

let admin: AdminGrpc | undefined;

export function loadAdminProto(): AdminGrpc {
  if (!admin) {
    const definition = protoLoader.loadSync('pfedlora/v1/admin.proto', { ...PROTO_LOADER_OPTIONS, includeDirs: [protoRoot()] });
    admin = grpc.loadPackageDefinition(definition) as unknown as AdminGrpc;
  }
  return admin;
}
