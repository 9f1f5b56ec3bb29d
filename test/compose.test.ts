/**
 * docker-compose.yml and the Dockerfiles, checked without docker: the compose file
 * parses; every service's command line goes through the real pfedlora flag parsers
 * (so a typo'd flag or a bad value fails here, not at `docker compose up`); every file
 * they reference exists and is not excluded by .dockerignore; ports, volumes, service
 * names and shards agree with each other; the health check script behaves.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { join, posix } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ClientDaemonConfig } from '@pfedlora/client';
import type { CoordinatorConfig } from '@pfedlora/coordinator';
import { parseFlags, type ParsedFlags } from '../packages/cli/src/args';
import { CLIENT_FLAGS, clientConfigFromFlags } from '../packages/cli/src/commands/client';
import { COORDINATOR_FLAGS, coordinatorConfigFromFlags } from '../packages/cli/src/commands/coordinator';
import { metricsAddressFromFlags } from '../packages/cli/src/commands/metrics-flags';

const REPO = join(__dirname, '..');
const COMPOSE_FILE = join(REPO, 'docker-compose.yml');
const TLS_OVERRIDE = join(REPO, 'docker', 'compose.tls.yml');
const ENV_EXAMPLE = join(REPO, 'docker', 'compose.env.example');
const HEALTHCHECK = join(REPO, 'docker', 'healthcheck.js');
const CLI_BIN_IN_IMAGE = '/app/packages/cli/bin/pfedlora.js';

// ---------------------------------------------------------------------------------------
// compose: parsing and ${VAR} interpolation
// ---------------------------------------------------------------------------------------

type Env = Record<string, string | undefined>;

/** Compose's interpolation: $$, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err}, $VAR. */
function interpolate(text: string, env: Env): string {
  const pattern = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;
  return text.replace(pattern, (match, name?: string, op?: string, arg?: string, bare?: string) => {
    if (match === '$$') return '$';
    const key = (name ?? bare)!;
    const value = env[key];
    // With a colon, empty counts as unset.
    const missing = op?.startsWith(':') ? !value : value === undefined;
    if (op?.endsWith('-')) return missing ? arg! : value!;
    if (op?.endsWith('?') && missing) throw new Error(`compose would stop: ${key}: ${arg}`);
    return value ?? '';
  });
}

function interpolateTree(node: unknown, env: Env): unknown {
  if (typeof node === 'string') return interpolate(node, env);
  if (Array.isArray(node)) return node.map((n) => interpolateTree(n, env));
  if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateTree(v, env)]));
  return node;
}

interface Build {
  context: string;
  dockerfile?: string;
}

interface Service {
  image?: string;
  build?: string | Build;
  command?: unknown;
  entrypoint?: unknown;
  environment?: Record<string, string | null> | string[];
  env_file?: unknown;
  ports?: unknown[];
  expose?: unknown[];
  volumes?: unknown[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: unknown; disable?: boolean };
  profiles?: string[];
  restart?: string;
  deploy?: { resources?: { reservations?: { devices?: Array<Record<string, unknown>> } } };
}

interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

function volumeTarget(v: unknown): string {
  return typeof v === 'string' ? v.split(':')[1] ?? v : String((v as { target?: unknown }).target);
}

/** What `docker compose -f a -f b` does to a service: lists of mounts merge by target, mappings merge, the rest is replaced. */
function mergeService(base: Service, override: Service): Service {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const old = out[key];
    if (key === 'volumes' && Array.isArray(old) && Array.isArray(value)) {
      const targets = new Set(value.map(volumeTarget));
      out[key] = [...old.filter((v) => !targets.has(volumeTarget(v))), ...value];
    } else if (key === 'environment' && old && value && !Array.isArray(old) && !Array.isArray(value)) {
      out[key] = { ...(old as object), ...(value as object) };
    } else {
      out[key] = value; // command, entrypoint, healthcheck, ...: replaced
    }
  }
  return out as Service;
}

/** docker-compose.yml, then each override file, interpolated with `env`. */
function loadCompose(env: Env = {}, overrides: string[] = []): Compose {
  const read = (file: string) => interpolateTree(parseYaml(readFileSync(file, 'utf8'), { merge: true }), env) as Compose;
  const compose = read(COMPOSE_FILE);
  for (const file of overrides) {
    const extra = read(file);
    for (const [name, service] of Object.entries(extra.services ?? {})) {
      const base = compose.services[name];
      compose.services[name] = base ? mergeService(base, service) : service;
    }
    compose.volumes = { ...compose.volumes, ...extra.volumes };
  }
  return compose;
}

function buildOf(service: Service): Build | undefined {
  if (service.build === undefined) return undefined;
  return typeof service.build === 'string' ? { context: service.build } : service.build;
}

function serviceEnv(service: Service): Env {
  const env: Env = {};
  const list = service.environment ?? {};
  if (Array.isArray(list)) {
    for (const item of list) {
      const at = item.indexOf('=');
      env[at < 0 ? item : item.slice(0, at)] = at < 0 ? undefined : item.slice(at + 1);
    }
  } else {
    for (const [k, v] of Object.entries(list)) env[k] = v === null ? undefined : String(v);
  }
  return env;
}

// ---------------------------------------------------------------------------------------
// Dockerfiles: a small parser (continuations, comments, stages, exec-form JSON)
// ---------------------------------------------------------------------------------------

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

interface Dockerfile {
  path: string;
  args: Record<string, string>;
  stages: Stage[];
}

function parseDockerfile(path: string): Dockerfile {
  const lines = readFileSync(path, 'utf8').split('\n');
  const logical: string[] = [];
  let current = '';
  for (const line of lines) {
    if (/^\s*#/.test(line) && current === '') continue;
    if (/^\s*#/.test(line)) continue; // comment inside a continuation
    if (/\\\s*$/.test(line)) {
      current += line.replace(/\\\s*$/, ' ');
      continue;
    }
    current += line;
    if (current.trim() !== '') logical.push(current.trim());
    current = '';
  }
  if (current.trim() !== '') logical.push(current.trim());
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const text of logical) {
    const m = /^(\S+)\s*(.*)$/s.exec(text)!;
    const keyword = m[1]!.toUpperCase();
    const rest = m[2]!.trim();
    if (keyword === 'ARG' && stages.length === 0) {
      const [name, value] = rest.split('=', 2);
      args[name!] = value ?? '';
    }
    if (keyword === 'FROM') {
      const f = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      if (!f) throw new Error(`${path}: cannot read FROM ${rest}`);
      const from = f[1]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a?: string, b?: string) => args[(a ?? b)!] ?? '');
      stages.push({ from, ...(f[2] ? { name: f[2] } : {}), instructions: [] });
      continue;
    }
    if (stages.length > 0) stages[stages.length - 1]!.instructions.push({ keyword, args: rest });
  }
  return { path, args, stages };
}

function finalStage(df: Dockerfile): Stage {
  const stage = df.stages[df.stages.length - 1];
  if (!stage) throw new Error(`${df.path}: no FROM`);
  return stage;
}

/** ENTRYPOINT / CMD of a stage, following its FROM chain within the file (exec form only). */
function execForm(df: Dockerfile, stage: Stage, keyword: 'ENTRYPOINT' | 'CMD'): string[] | undefined {
  const own = stage.instructions.filter((i) => i.keyword === keyword).pop();
  if (own) {
    const parsed = JSON.parse(own.args) as unknown;
    if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`${df.path}: ${keyword} must be exec form (a JSON array of strings)`);
    return parsed as string[];
  }
  const parent = df.stages.find((s) => s.name === stage.from);
  return parent ? execForm(df, parent, keyword) : undefined;
}

interface Copy {
  from?: string;
  sources: string[];
  dest: string;
}

function copies(stage: Stage): Copy[] {
  return stage.instructions
    .filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')
    .map((i) => {
      const words = i.args.startsWith('[') ? (JSON.parse(i.args) as string[]) : i.args.split(/\s+/);
      const options = words.filter((w) => w.startsWith('--'));
      const paths = words.filter((w) => !w.startsWith('--'));
      const from = options.find((o) => o.startsWith('--from='))?.slice('--from='.length);
      return { ...(from ? { from } : {}), sources: paths.slice(0, -1), dest: paths[paths.length - 1]! };
    });
}

function workdir(df: Dockerfile, stage: Stage): string {
  const own = stage.instructions.filter((i) => i.keyword === 'WORKDIR').pop();
  if (own) return own.args;
  const parent = df.stages.find((s) => s.name === stage.from);
  return parent ? workdir(df, parent) : '/';
}

// ---------------------------------------------------------------------------------------
// .dockerignore (enough of its syntax for this repository: *, **, ?, !, leading /)
// ---------------------------------------------------------------------------------------

function ignoreRules(context: string): Array<{ negate: boolean; re: RegExp }> {
  const file = join(context, '.dockerignore');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = posix.normalize((negate ? l.slice(1) : l).replace(/^\/+/, '')).replace(/\/+$/, '');
      let re = '';
      for (let i = 0; i < pattern.length; i++) {
        const ch = pattern[i]!;
        if (ch === '*' && pattern[i + 1] === '*') {
          re += pattern[i + 2] === '/' ? '(?:.*/)?' : '.*';
          i += pattern[i + 2] === '/' ? 2 : 1;
        } else if (ch === '*') re += '[^/]*';
        else if (ch === '?') re += '[^/]';
        else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
      }
      return { negate, re: new RegExp(`^${re}$`) };
    });
}

/** Whether a path (relative to the context) is left out of the build context. */
function ignored(context: string, relPath: string): boolean {
  const parts = posix.normalize(relPath).replace(/\/+$/, '').split('/');
  let out = false;
  for (const rule of ignoreRules(context)) {
    // A rule matching a parent folder excludes everything below it.
    for (let n = 1; n <= parts.length; n++) {
      if (rule.re.test(parts.slice(0, n).join('/'))) {
        out = !rule.negate;
        break;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// each service, resolved to the pfedlora command it runs
// ---------------------------------------------------------------------------------------

interface Resolved {
  name: string;
  service: Service;
  dockerfile: Dockerfile;
  argv: string[];
  command: 'coordinator' | 'client';
  flags: ParsedFlags;
  coordinator?: CoordinatorConfig;
  client?: ClientDaemonConfig;
}

function withEnv<T>(env: Env, fn: () => T): T {
  const saved: Env = {};
  for (const key of ['PFEDLORA_COORDINATOR', 'PFEDLORA_CLIENT_CREDENTIAL', 'PFEDLORA_ADMIN_TOKEN', ...Object.keys(env)]) {
    saved[key] = process.env[key];
    if (env[key] === undefined) delete process.env[key];
    else process.env[key] = env[key];
  }
  try {
    return fn();
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

const imagesBuilt = new Map<string, Dockerfile>();

function dockerfileOf(name: string, service: Service, compose: Compose): Dockerfile {
  let build = buildOf(service);
  if (!build && service.image) {
    // A service may reuse the image another service builds.
    const builder = Object.values(compose.services).find((s) => s.image === service.image && s.build !== undefined);
    build = builder ? buildOf(builder) : undefined;
  }
  if (!build) throw new Error(`service ${name}: neither build nor an image built by another service`);
  const path = join(REPO, build.context, build.dockerfile ?? 'Dockerfile');
  if (!imagesBuilt.has(path)) imagesBuilt.set(path, parseDockerfile(path));
  return imagesBuilt.get(path)!;
}

/** The argv the container's node process gets after pfedlora.js, parsed by the CLI's own parsers. */
function resolveService(name: string, service: Service, compose: Compose): Resolved {
  const dockerfile = dockerfileOf(name, service, compose);
  const stage = finalStage(dockerfile);
  if (service.entrypoint !== undefined) throw new Error(`service ${name}: overrides the image entrypoint; keep it in the Dockerfile`);
  const entrypoint = execForm(dockerfile, stage, 'ENTRYPOINT') ?? [];
  if (entrypoint[0] !== 'node' || entrypoint[1] !== CLI_BIN_IN_IMAGE) {
    throw new Error(`${dockerfile.path}: ENTRYPOINT must start with ["node", "${CLI_BIN_IN_IMAGE}"], got ${JSON.stringify(entrypoint)}`);
  }
  let command: string[];
  if (service.command === undefined) command = execForm(dockerfile, stage, 'CMD') ?? [];
  else if (Array.isArray(service.command) && service.command.every((a) => typeof a === 'string' || typeof a === 'number')) command = service.command.map(String);
  else throw new Error(`service ${name}: command must be a list (exec form), got ${JSON.stringify(service.command)}`);
  const argv = [...entrypoint.slice(2), ...command];
  const [sub, ...rest] = argv;
  const env = serviceEnv(service);
  // The check reads flags only: a --config file would be a path inside the container.
  if (rest.includes('--config')) throw new Error(`service ${name}: uses --config; teach test/compose.test.ts to read that file (parseWithConfig)`);
  return withEnv(env, () => {
    if (sub === 'coordinator') {
      const { flags, positionals } = parseFlags(rest, COORDINATOR_FLAGS, 'coordinator');
      if (positionals.length > 0) throw new Error(`service ${name}: stray arguments ${JSON.stringify(positionals)}`);
      return { name, service, dockerfile, argv, command: sub, flags, coordinator: coordinatorConfigFromFlags(flags) };
    }
    if (sub === 'client') {
      const { flags, positionals } = parseFlags(rest, CLIENT_FLAGS, 'client');
      if (positionals.length > 0) throw new Error(`service ${name}: stray arguments ${JSON.stringify(positionals)}`);
      return { name, service, dockerfile, argv, command: sub, flags, client: clientConfigFromFlags(flags) };
    }
    throw new Error(`service ${name}: runs "pfedlora ${argv.join(' ')}"; expected the coordinator or client command`);
  });
}

function resolveAll(env: Env = {}, overrides: string[] = []): Resolved[] {
  const compose = loadCompose(env, overrides);
  return Object.entries(compose.services).map(([name, s]) => resolveService(name, s, compose));
}

interface Mount {
  source: string;
  target: string;
  named: boolean;
}

function mounts(service: Service): Mount[] {
  return (service.volumes ?? []).map((v) => {
    if (typeof v === 'string') {
      const [source, target] = v.split(':');
      if (!source || !target) throw new Error(`volume "${v}" is not SOURCE:TARGET`);
      return { source, target, named: !/^[./~]/.test(source) };
    }
    const o = v as { type?: string; source?: string; target?: string };
    return { source: o.source ?? '', target: o.target ?? '', named: o.type === 'volume' || (o.type === undefined && !/^[./~]/.test(o.source ?? '')) };
  });
}

function isUnder(path: string, dir: string): boolean {
  const rel = posix.relative(dir, posix.normalize(path));
  return rel === '' || (!rel.startsWith('..') && !posix.isAbsolute(rel));
}

function containerPorts(service: Service): number[] {
  const out: number[] = [];
  for (const p of [...(service.ports ?? []), ...(service.expose ?? [])]) {
    if (typeof p === 'object' && p !== null) out.push(Number((p as { target: unknown }).target));
    else out.push(Number(String(p).split('/')[0]!.split(':').pop()));
  }
  return out;
}

function inDefaultProfile(r: Resolved): boolean {
  return (r.service.profiles ?? []).length === 0;
}

// ---------------------------------------------------------------------------------------

describe('docker-compose.yml', () => {
  test('parses, and every service runs a pfedlora command whose flags the CLI accepts', () => {
    const compose = loadCompose();
    expect(Object.keys(compose.services).sort()).toEqual(['client-0', 'client-1', 'client-2', 'client-gpu', 'coordinator']);
    const all = resolveAll();
    expect(all.filter((r) => r.command === 'coordinator').map((r) => r.name)).toEqual(['coordinator']);
    expect(all.filter((r) => r.command === 'client')).toHaveLength(4);
    // The variables the file reads change values, never validity.
    expect(() => resolveAll({ PFEDLORA_ROUNDS: '1', PFEDLORA_CLIENT_CREDENTIAL: 's3cret', PFEDLORA_ADMIN_TOKEN: 'op-token' })).not.toThrow();
  });

  test('the check fails on a typo or a bad value (it is not a rubber stamp)', () => {
    const compose = loadCompose();
    const typo: Service = { ...compose.services['client-0']!, command: ['client', '--coordinator', 'coordinator:7070', '--shrad', '0/3'] };
    expect(() => resolveService('client-0', typo, compose)).toThrow(/shrad/);
    const badShard: Service = { ...compose.services['client-0']!, command: ['client', '--shard', '3/3'] };
    expect(() => resolveService('client-0', badShard, compose)).toThrow(/--shard expects/);
    const coordinatorTypo: Service = { ...compose.services['coordinator']!, command: ['coordinator', '--state_dir', '/state'] };
    expect(() => resolveService('coordinator', coordinatorTypo, compose)).toThrow(/state_dir/);
    expect(() => resolveService('coordinator', { ...compose.services['coordinator']!, command: ['coordinatr'] }, compose)).toThrow(/expected the coordinator or client/);
    expect(() => resolveAll({ PFEDLORA_ROUNDS: 'ten' })).toThrow(/--rounds expects an integer/);
  });

  test('clients dial the coordinator service on the port it listens on, and that port is published and exposed', () => {
    const all = resolveAll();
    const coordinator = all.find((r) => r.command === 'coordinator')!;
    const port = coordinator.coordinator!.port;
    expect(port).toBe(7070);
    expect(coordinator.coordinator!.host).toBe('0.0.0.0'); // reachable from the other containers
    expect(containerPorts(coordinator.service)).toContain(port);
    // The Admin service stays inside the container (operators use docker compose exec).
    const { adminHost, adminPort } = coordinator.coordinator!;
    if (adminPort !== undefined) {
      expect(adminHost).toBe('127.0.0.1');
      expect(containerPorts(coordinator.service)).not.toContain(adminPort);
    }
    const expose = finalStage(coordinator.dockerfile).instructions.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(/\s+/).map((p) => Number(p.split('/')[0])));
    expect(expose).toContain(port);
    for (const client of all.filter((r) => r.command === 'client')) {
      expect(client.client!.coordinator).toBe(`${coordinator.name}:${port}`);
      const env = serviceEnv(client.service);
      if (env['PFEDLORA_COORDINATOR'] !== undefined) expect(env['PFEDLORA_COORDINATOR']).toBe(`${coordinator.name}:${port}`);
      expect(client.service.depends_on).toBeDefined();
      expect(Object.keys(client.service.depends_on!)).toContain(coordinator.name);
      // Both ends see the same credential variable.
      expect(serviceEnv(client.service)['PFEDLORA_CLIENT_CREDENTIAL']).toBe(serviceEnv(coordinator.service)['PFEDLORA_CLIENT_CREDENTIAL']);
    }
  });

  test('shards, client ids, models and the coordinator wait count agree', () => {
    const all = resolveAll();
    const coordinator = all.find((r) => r.command === 'coordinator')!.coordinator!;
    const clients = all.filter((r) => r.command === 'client');
    const ids = clients.map((c) => c.client!.clientId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const c of clients) expect(c.client!.clientId).toBe(c.name); // logs and the ledger name the service
    const sharded = clients.filter((c) => inDefaultProfile(c) && c.client!.shard);
    const counts = new Set(sharded.map((c) => c.client!.shard!.count));
    expect(counts.size).toBe(1); // one partition, cut the same way by every client
    const count = [...counts][0]!;
    expect(sharded.map((c) => c.client!.shard!.index).sort()).toEqual(Array.from({ length: count }, (_, k) => k));
    const defaultClients = clients.filter(inDefaultProfile);
    expect(coordinator.waitClients).toBeLessThanOrEqual(defaultClients.length);
    expect(coordinator.minClients).toBeLessThanOrEqual(coordinator.waitClients);
    expect(new Set(defaultClients.map((c) => c.client!.model)).size).toBe(defaultClients.length); // heterogeneous models
    const coordinatorDataset = (all.find((r) => r.command === 'coordinator')!.flags['dataset'] as string | undefined) ?? 'fashion-mnist';
    for (const c of clients) expect(c.client!.data).toMatchObject({ format: 'benchmark', dataset: coordinatorDataset });
  });

  test('state and data live on volumes: one of each per client, declared, and where the flags write', () => {
    const compose = loadCompose();
    const all = resolveAll();
    const declared = Object.keys(compose.volumes ?? {});
    const used: string[] = [];
    for (const r of all) {
      const ms = mounts(r.service);
      for (const m of ms) {
        if (m.named) {
          expect(declared).toContain(m.source);
          used.push(m.source);
        } else {
          if (!posix.isAbsolute(m.source)) expect(existsSync(join(REPO, m.source))).toBe(true); // a repository path
        }
      }
      const targets = ms.map((m) => m.target);
      if (r.command === 'coordinator') {
        expect(r.coordinator!.stateDir).toBeDefined();
        expect(targets.some((t) => isUnder(r.coordinator!.stateDir!, t))).toBe(true);
      } else {
        expect(targets).toEqual(expect.arrayContaining(['/data', '/state']));
        expect(r.client!.stateDir).toBeDefined(); // private model + optimizer: a restarted client resumes
        expect(targets.some((t) => isUnder(r.client!.stateDir!, t))).toBe(true);
        if (r.client!.dumpUpdatesDir) expect(targets.some((t) => isUnder(r.client!.dumpUpdatesDir!, t))).toBe(true);
        const data = r.client!.data;
        const dataDir = data.format === 'benchmark' ? data.dataDir : data.format === 'image-folder' ? data.dir : data.format === 'csv' ? data.path : undefined;
        if (dataDir && dataDir !== 'subset') expect(targets.some((t) => isUnder(dataDir, t))).toBe(true);
      }
    }
    expect(new Set(used).size).toBe(used.length); // no two services share a volume
    expect(declared.sort()).toEqual([...used].sort()); // and none is left over
  });

  test('health checks, start order and restart policies', () => {
    const compose = loadCompose();
    const all = resolveAll();
    for (const r of all) {
      const test = r.service.healthcheck?.test;
      expect(Array.isArray(test)).toBe(true);
      const [kind, ...cmd] = test as string[];
      expect(['CMD', 'CMD-SHELL']).toContain(kind);
      // The script it runs is copied into the image at that path.
      const script = cmd.find((a) => a.endsWith('.js'));
      expect(script).toBeDefined();
      expect(copies(finalStage(r.dockerfile)).some((c) => c.from === undefined && c.dest === script)).toBe(true);
      // It checks what the process serves: the coordinator's gRPC port, /healthz on the metrics port.
      let targets = cmd.slice(cmd.indexOf(script!) + 1);
      if (targets[0] === '--timeout') {
        expect(Number(targets[1])).toBeGreaterThan(0);
        targets = targets.slice(2);
      }
      const expected: string[] = [];
      if (r.command === 'coordinator') expected.push(`127.0.0.1:${r.coordinator!.port}`);
      const metrics = metricsAddressFromFlags(r.flags);
      if (metrics) {
        expect(metrics.port).toBeGreaterThan(0); // a fixed port, so the check and a scraper can find it
        expected.push(`http://127.0.0.1:${metrics.port}/healthz`);
        expect(containerPorts(r.service)).toContain(metrics.port);
      }
      expect({ service: r.name, targets }).toEqual({ service: r.name, targets: expected });
      expect(r.service.restart).toBe('on-failure'); // exit 0 ends the run; a restart would start a new one
      for (const [dep, spec] of Object.entries(r.service.depends_on ?? {})) {
        expect(Object.keys(compose.services)).toContain(dep);
        if (spec.condition === 'service_healthy') expect(compose.services[dep]!.healthcheck?.test).toBeDefined();
      }
    }
  });

  test('the gpu profile: a CUDA client on Dockerfile.gpu with an NVIDIA device reservation', () => {
    const all = resolveAll();
    const gpu = all.filter((r) => (r.service.profiles ?? []).includes('gpu'));
    expect(gpu.map((r) => r.name)).toEqual(['client-gpu']);
    const [r] = gpu;
    expect(r!.dockerfile.path).toBe(join(REPO, 'docker', 'Dockerfile.gpu'));
    expect(r!.client!.backend).toBe('tensorflow-gpu');
    const devices = r!.service.deploy?.resources?.reservations?.devices ?? [];
    expect(devices).toEqual([expect.objectContaining({ driver: 'nvidia', capabilities: expect.arrayContaining(['gpu']) })]);
    for (const cpu of all.filter((x) => !gpu.includes(x))) {
      expect(cpu.dockerfile.path).toBe(join(REPO, 'docker', 'Dockerfile'));
      if (cpu.client) expect(['wasm', 'cpu', 'auto']).toContain(cpu.client.backend); // the CPU image has no tfjs-node
    }
  });

  test('every variable the compose files read is listed in docker/compose.env.example', () => {
    const text = readFileSync(COMPOSE_FILE, 'utf8') + readFileSync(TLS_OVERRIDE, 'utf8');
    const names = new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!));
    expect(names.size).toBeGreaterThan(0);
    const example = readFileSync(ENV_EXAMPLE, 'utf8');
    for (const name of names) expect(example).toMatch(new RegExp(`^(# )?${name}=`, 'm'));
  });

  test('one transport for everyone: plaintext (--insecure) on this single-host network', () => {
    for (const r of resolveAll()) {
      expect({ service: r.name, insecure: r.flags['insecure'] }).toEqual({ service: r.name, insecure: true });
      expect((r.coordinator ?? r.client)!.tls).toBeUndefined();
    }
  });

  test('referenced files exist: build contexts, Dockerfiles, env files', () => {
    const compose = loadCompose();
    for (const [name, service] of Object.entries(compose.services)) {
      const build = buildOf(service);
      if (build) {
        expect(statSync(join(REPO, build.context)).isDirectory()).toBe(true);
        expect(existsSync(join(REPO, build.context, build.dockerfile ?? 'Dockerfile'))).toBe(true);
      } else {
        expect(() => dockerfileOf(name, service, compose)).not.toThrow();
      }
      const envFiles = service.env_file === undefined ? [] : Array.isArray(service.env_file) ? service.env_file : [service.env_file];
      for (const f of envFiles) {
        const entry = typeof f === 'string' ? { path: f, required: true } : (f as { path: string; required?: boolean });
        if (entry.required !== false) expect(existsSync(join(REPO, entry.path))).toBe(true);
      }
    }
  });
});

describe('docker/compose.tls.yml (mutual TLS over docker-compose.yml)', () => {
  const CERTS = '/srv/pfedlora-certs';
  const tls = () => resolveAll({ PFEDLORA_CERTS_DIR: CERTS }, [TLS_OVERRIDE]);
  const withoutTls = (argv: string[]) => {
    const out: string[] = [];
    for (let i = 0; i < argv.length; i++) {
      if (['--tls-cert', '--tls-key', '--tls-ca'].includes(argv[i]!)) i++;
      else if (argv[i] !== '--insecure') out.push(argv[i]!);
    }
    return out;
  };

  test('needs PFEDLORA_CERTS_DIR, and then every service runs with the three TLS files', () => {
    expect(() => loadCompose({}, [TLS_OVERRIDE])).toThrow(/PFEDLORA_CERTS_DIR/);
    const all = tls();
    expect(all.map((r) => r.name).sort()).toEqual(['client-0', 'client-1', 'client-2', 'client-gpu', 'coordinator']);
    for (const r of all) {
      expect(r.flags['insecure']).toBeUndefined();
      expect((r.coordinator ?? r.client)!.tls).toBeDefined();
    }
  });

  test('it changes the transport and nothing else', () => {
    const plain = new Map(resolveAll().map((r) => [r.name, r]));
    for (const r of tls()) {
      const before = plain.get(r.name)!;
      expect({ service: r.name, argv: withoutTls(r.argv) }).toEqual({ service: r.name, argv: withoutTls(before.argv) });
      // Every mount of the plain file is still there.
      expect(mounts(r.service).map((m) => m.target)).toEqual(expect.arrayContaining(mounts(before.service).map((m) => m.target)));
    }
  });

  test('each client sees only its own certificate folder; the coordinator the certs folder', () => {
    for (const r of tls()) {
      const ms = mounts(r.service);
      const files = (r.coordinator ?? r.client)!.tls!;
      const mountOf = (file: string) => ms.find((m) => isUnder(file, m.target));
      for (const file of [files.certFile, files.keyFile, files.caFile]) expect(mountOf(file)).toBeDefined();
      const source = mountOf(files.certFile)!.source;
      if (r.client) {
        expect(source).toBe(`${CERTS}/clients/${r.client.clientId}`); // the certificate names this client id
        expect(ms.some((m) => m.source === CERTS)).toBe(false);
      } else {
        expect(source).toBe(CERTS);
        // operators in the container use the operator certificate from the same folder
        expect(serviceEnv(r.service)['PFEDLORA_ADMIN_TLS_DIR']).toBe(mountOf(files.caFile)!.target);
      }
    }
  });
});

describe('Dockerfiles', () => {
  const files = ['docker/Dockerfile', 'docker/Dockerfile.gpu'];
  const workspaces = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;

  test.each(files)('%s: COPY sources from the context exist and .dockerignore keeps them', (file) => {
    const df = parseDockerfile(join(REPO, file));
    const stageNames = new Set(df.stages.map((s) => s.name).filter(Boolean));
    for (const stage of df.stages) {
      for (const c of copies(stage)) {
        if (c.from !== undefined) {
          // From an earlier stage of this file, or an image named in an ARG default.
          expect(stageNames.has(c.from) || /[:/]/.test(c.from)).toBe(true);
          continue;
        }
        for (const source of c.sources) {
          expect({ source, exists: existsSync(join(REPO, source)) }).toEqual({ source, exists: true });
          expect({ source, ignored: ignored(REPO, source) }).toEqual({ source, ignored: false });
        }
      }
    }
  });

  test.each(files)('%s: copies every workspace (manifest and build) into the image, non-root, with the CLI as entrypoint', (file) => {
    const df = parseDockerfile(join(REPO, file));
    const all = df.stages.flatMap(copies);
    const last = finalStage(df);
    const runtime = copies(last);
    for (const ws of workspaces) {
      expect({ ws, manifest: all.some((c) => c.sources.includes(`${ws}/package.json`)) }).toEqual({ ws, manifest: true });
      // into the runtime stage: its dist/ (or the whole built folder) from a build stage
      expect({ ws, built: runtime.some((c) => c.from !== undefined && c.sources.some((s) => s.replace(/\/$/, '').endsWith(ws) || s.includes(`${ws}/dist`))) }).toEqual({ ws, built: true });
    }
    expect(workdir(df, last)).toBe('/app');
    expect(existsSync(join(REPO, posix.relative('/app', CLI_BIN_IN_IMAGE)))).toBe(true);
    const user = last.instructions.filter((i) => i.keyword === 'USER').pop();
    expect(user?.args).toBeDefined();
    expect(['root', '0']).not.toContain(user!.args.split(':')[0]);
    expect(last.instructions.some((i) => i.keyword === 'HEALTHCHECK')).toBe(true);
    expect(execForm(df, last, 'ENTRYPOINT')!.slice(0, 2)).toEqual(['node', CLI_BIN_IN_IMAGE]);
    expect(execForm(df, last, 'CMD')).toEqual(['--help']);
  });

  test('the CPU image leaves the optional tfjs-node packages out and runs no install scripts; the GPU image runs tfjs-node-gpu\'s', () => {
    const runs = (file: string) => parseDockerfile(join(REPO, file)).stages.flatMap((s) => s.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args));
    const cpuInstalls = runs('docker/Dockerfile').filter((r) => /npm (ci|install)\b/.test(r));
    expect(cpuInstalls.length).toBeGreaterThan(0);
    for (const r of cpuInstalls) {
      expect(r).toMatch(/--omit=optional/);
      expect(r).toMatch(/--ignore-scripts/);
    }
    expect(runs('docker/Dockerfile').some((r) => /--omit=dev/.test(r))).toBe(true);
    const gpu = runs('docker/Dockerfile.gpu');
    expect(gpu.some((r) => /tfjs-node-gpu/.test(r) && /node scripts\/install\.js gpu download/.test(r) && /tfjs_binding\.node/.test(r))).toBe(true);
    for (const r of gpu.filter((x) => /npm ci\b/.test(x))) expect(r).toMatch(/--ignore-scripts/); // only that one script runs
    expect(gpu.some((r) => /--omit=dev/.test(r))).toBe(true);
  });

  test('.dockerignore leaves host builds and node_modules out but keeps sources, proto and the shipped data', () => {
    for (const p of ['node_modules', 'packages/cli/node_modules', 'packages/cli/dist', 'packages/ml/tsconfig.tsbuildinfo', '.git']) expect({ p, ignored: ignored(REPO, p) }).toEqual({ p, ignored: true });
    for (const p of ['packages/cli/src/main.ts', 'proto/pfedlora/v1/federation.proto', 'packages/ml/data/fashion-mnist-subset/train-images-idx3-ubyte.gz', 'docker/healthcheck.js', 'package-lock.json']) {
      expect({ p, ignored: ignored(REPO, p) }).toEqual({ p, ignored: false });
    }
  });
});

describe('docker/healthcheck.js', () => {
  function run(args: string[]): Promise<{ code: number | null; out: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [HEALTHCHECK, ...args]);
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, out }));
    });
  }

  test('exits 0 when the port accepts a TCP connection and 1 when nothing listens', async () => {
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const up = await run([`127.0.0.1:${port}`]);
    expect(up).toEqual({ code: 0, out: expect.stringMatching(/healthy/) });
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const down = await run([`127.0.0.1:${port}`]);
    expect(down.code).toBe(1);
    expect(down.out).toMatch(/unhealthy: 127\.0\.0\.1:\d+: connect ECONNREFUSED/);
    expect((await run(['not-an-address'])).code).toBe(1);
  });

  test('an http:// target must answer 200; every target must pass', async () => {
    let status = 200;
    const web = createHttpServer((req, res) => {
      res.statusCode = req.url === '/healthz' ? status : 404;
      res.end('ok');
    });
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    const tcp = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
    const tcpTarget = `127.0.0.1:${(tcp.address() as AddressInfo).port}`;
    try {
      expect((await run([`${url}/healthz`, tcpTarget])).code).toBe(0);
      expect((await run(['--timeout', '10', `${url}/healthz`])).code).toBe(0);
      expect(await run(['--timeout', 'soon', `${url}/healthz`])).toEqual({ code: 1, out: expect.stringMatching(/--timeout expects/) });
      expect(await run([`${url}/nope`])).toEqual({ code: 1, out: expect.stringMatching(/answered 404/) });
      status = 503;
      expect((await run([tcpTarget, `${url}/healthz`])).code).toBe(1);
    } finally {
      await new Promise<void>((resolve) => web.close(() => resolve()));
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    }
  });
});
