/**
 * Real pfedlora processes for end-to-end tests: spawn the built CLI, follow
 * its JSON log lines, wait for a given line, kill it with real signals.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { CLI, REPO } from './helpers';

export interface LogLine {
  readonly message: string;
  readonly [key: string]: unknown;
}

export class PfedloraProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  output = '';
  private waiters: Array<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  readonly exit: Promise<number | null>;
  /** Resolves once the process exited and all its output was read. */
  readonly closed: Promise<number | null>;

  /**
   * `launcher` runs the command through another program, e.g. ['ip', 'netns', 'exec', NS].
   * `script`: args start with a Node script of the repo (an example) instead of the CLI's arguments.
   * `command`: another program altogether ([program, ...argv], e.g. the Python client); args are then ignored.
   */
  constructor(readonly name: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, launcher: readonly string[] = [], script = false, command?: readonly string[]) {
    const [program, ...prefix] = [...launcher, process.execPath];
    const [file, ...argv] = command ?? [program!, ...prefix, ...(script ? [] : [CLI]), ...args];
    this.child = spawn(file!, argv, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    createInterface({ input: this.child.stdout! }).on('line', (text) => {
      this.output += text + '\n';
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        return;
      }
      this.lines.push(line);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(line)) return true;
        w.resolve(line);
        return false;
      });
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exit = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
    this.closed = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  /** Resolves with the first log line (past or future) that matches. */
  waitFor(match: (l: LogLine) => boolean, timeoutMs = 60_000, what = 'log line'): Promise<LogLine> {
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms; output:\n${this.output.slice(-3000)}`)), timeoutMs);
      // A process that exits first will never print it: fail now, with its output.
      void this.closed.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${code}) before ${what}; output:\n${this.output.slice(-3000)}`));
      });
      this.waiters.push({
        match,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  }

  waitForMessage(message: string, timeoutMs?: number, extra: (l: LogLine) => boolean = () => true): Promise<LogLine> {
    return this.waitFor((l) => l.message === message && extra(l), timeoutMs, `"${message}"`);
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}

/**
 * Processes a test file starts, killed with SIGKILL after each test (registers
 * the afterEach): `start` runs the CLI, `script` a Node script of the repo.
 */
export function useProcesses(): {
  start(name: string, args: string[], env?: NodeJS.ProcessEnv): PfedloraProcess;
  script(name: string, args: string[]): PfedloraProcess;
  program(name: string, command: readonly string[], env?: NodeJS.ProcessEnv): PfedloraProcess;
} {
  const running: PfedloraProcess[] = [];
  afterEach(() => {
    for (const p of running.splice(0)) p.kill('SIGKILL');
  });
  const track = (p: PfedloraProcess) => (running.push(p), p);
  return {
    start: (name, args, env = {}) => track(new PfedloraProcess(name, args, env)),
    script: (name, args) => track(new PfedloraProcess(name, args, {}, [], true)),
    program: (name, command, env = {}) => track(new PfedloraProcess(name, [], env, [], false, command)),
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Plaintext, said explicitly: the tests run everything on 127.0.0.1 (test/security.test.ts passes TLS files instead). */
export const INSECURE = ['--insecure'];

/** Arguments of a small, fast federation on the shipped subset. */
/** Several clients share this machine's cores, as a cluster's do: one training thread each. */
export function clientArgs(port: number, k: number, n: number, extra: string[] = [], transport: readonly string[] = INSECURE): string[] {
  return ['client', '--coordinator', `127.0.0.1:${port}`, '--client-id', `client-${k}`, '--shard', `${k}/${n}`, '--data-dir', 'subset', '--max-samples', '160', '--backend', 'wasm', '--threads', '1', ...transport, ...extra];
}

export function coordinatorArgs(port: number, extra: string[] = [], adminPort = 0, transport: readonly string[] = INSECURE): string[] {
  return ['coordinator', '--host', '127.0.0.1', '--port', String(port), '--admin-port', String(adminPort), '--batch-size', '32', '--rank', '4', '--adapter-alpha', '4', '--heartbeat-interval', '0.5', '--client-timeout', '10', '--disconnect-grace', '1', ...transport, ...extra];
}

/** Runs a pfedlora operator command to completion. */
export { runCli } from './helpers';
