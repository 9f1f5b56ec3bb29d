/**
 * Random bytes at every RPC of both services, sent as raw gRPC messages over
 * a real server on 127.0.0.1: each call fails with a status (never a hang or
 * a crash), and the coordinator still serves a well-formed client afterwards.
 */
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { joinRequestToProto, joinResponseFromProto, loadFederationProto, type FederationClient } from '@pfedlora/protocol';
import { joinInfo } from '../test/raw-client';
import { silentLogger } from '@pfedlora/telemetry';
import { DEFAULT_COORDINATOR } from './config';
import { startCoordinator, type RunningCoordinator } from './server';

jest.setTimeout(60_000);

interface Method {
  readonly path: string;
  readonly kind: 'unary' | 'server-stream' | 'client-stream';
}
const FEDERATION: Method[] = [
  ...['Join', 'Heartbeat'].map((m): Method => ({ path: `/pfedlora.v1.Federation/${m}`, kind: 'unary' })),
  ...['Subscribe', 'Download'].map((m): Method => ({ path: `/pfedlora.v1.Federation/${m}`, kind: 'server-stream' })),
  { path: '/pfedlora.v1.Federation/Upload', kind: 'client-stream' },
];
const ADMIN: Method[] = ['StartRun', 'PauseRun', 'ResumeRun', 'AbortRun', 'Status', 'ListClients', 'EvictClient'].map((m) => ({ path: `/pfedlora.v1.Admin/${m}`, kind: 'unary' }));

let server: RunningCoordinator;
let raw: grpc.Client;
let adminRaw: grpc.Client;

beforeAll(async () => {
  server = await startCoordinator({ ...DEFAULT_COORDINATOR, host: '127.0.0.1', port: 0, adminPort: 0, rounds: 1, minClients: 1, waitClients: 1, uploadIdleTimeoutMs: 500 }, silentLogger());
  raw = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
  adminRaw = new grpc.Client(`127.0.0.1:${server.adminPort}`, grpc.credentials.createInsecure());
});
afterAll(async () => {
  raw.close();
  adminRaw.close();
  await server.shutdown(200);
});

const identity = (b: Buffer) => b;

/** Sends one raw message (or several, for a client stream); resolves with the final status code. */
function send(client: grpc.Client, method: Method, messages: Buffer[]): Promise<grpc.status> {
  return new Promise((resolve) => {
    const deadline = Date.now() + 5_000;
    const done = (code: grpc.status) => resolve(code);
    if (method.kind === 'unary') {
      client.makeUnaryRequest(method.path, identity, identity, messages[0]!, { deadline }, (e) => done(e ? e.code : grpc.status.OK));
    } else if (method.kind === 'server-stream') {
      const call = client.makeServerStreamRequest(method.path, identity, identity, messages[0]!, { deadline });
      call.on('data', () => call.cancel()); // a valid-looking request got a stream: fine, stop it
      call.on('error', (e: grpc.ServiceError) => done(e.code));
      call.on('end', () => done(grpc.status.OK));
    } else {
      const call = client.makeClientStreamRequest(method.path, identity, identity, { deadline }, (e) => done(e ? e.code : grpc.status.OK));
      for (const m of messages) call.write(m);
      call.end();
    }
  });
}

test('random bytes at every RPC get a status, never a crash or a hang', async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...FEDERATION, ...ADMIN), fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 4 }), async (method, chunks) => {
      const client = method.path.includes('Admin') ? adminRaw : raw;
      const code = await send(client, method, chunks.map((c) => Buffer.from(c)));
      // Decoding garbage may by chance yield a valid empty message: then a domain error or OK.
      expect(Object.values(grpc.status)).toContain(code);
    }),
    { numRuns: 150 },
  );
  // The coordinator is unharmed: a real client joins and is answered.
  const client = new (loadFederationProto().pfedlora.v1.Federation)(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure()) as unknown as FederationClient;
  const accepted = await new Promise((resolve, reject) =>
    client.Join(
      joinRequestToProto(joinInfo('after-fuzz')),
      (e: grpc.ServiceError | null, r?: Parameters<typeof joinResponseFromProto>[0]) => (e ? reject(e) : resolve(joinResponseFromProto(r!))),
    ),
  );
  expect(accepted).toMatchObject({ runId: server.coordinator.runId });
  client.close();
  expect(server.coordinator.status().roundsCompleted).toBe(0);
});
