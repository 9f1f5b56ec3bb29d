/**
 * Loads proto/pfedlora/v1/*.proto once with @grpc/proto-loader (options that
 * match the committed generated types) and caches the package definition.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType as AdminGrpc } from './generated/admin';
import type { ProtoGrpcType as FederationGrpc } from './generated/federation';

/** The options the generated types were made with (package.json "generate"). */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

export const PROTOCOL_VERSION = 1;

/** proto/ at the repository root, found from the compiled (dist) or source (src) location. */
export function protoRoot(): string {
  const candidates = [process.env['PFEDLORA_PROTO_DIR'], resolve(__dirname, '..', '..', '..', 'proto')].filter((p): p is string => Boolean(p));
  for (const dir of candidates) if (existsSync(join(dir, 'pfedlora', 'v1', 'federation.proto'))) return dir;
  throw new Error(`pfedlora proto files not found (looked in ${candidates.join(', ')}); set PFEDLORA_PROTO_DIR`);
}

let federation: FederationGrpc | undefined;

export function loadFederationProto(): FederationGrpc {
  if (!federation) {
    const definition = protoLoader.loadSync('pfedlora/v1/federation.proto', { ...PROTO_LOADER_OPTIONS, includeDirs: [protoRoot()] });
    federation = grpc.loadPackageDefinition(definition) as unknown as FederationGrpc;
  }
  return federation;
}

let admin: AdminGrpc | undefined;

export function loadAdminProto(): AdminGrpc {
  if (!admin) {
    const definition = protoLoader.loadSync('pfedlora/v1/admin.proto', { ...PROTO_LOADER_OPTIONS, includeDirs: [protoRoot()] });
    admin = grpc.loadPackageDefinition(definition) as unknown as AdminGrpc;
  }
  return admin;
}
