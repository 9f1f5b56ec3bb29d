/**
 * Child processes of the benchmarks (client fleets, the coordinator of the
 * memory benchmark): compiled scripts in this package's dist/, spoken to over
 * Node's IPC channel with one request/reply shape. Run from sources (jest),
 * the compiled scripts of the last `npm run build` are used.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface ChildRequest {
  readonly id: number;
  readonly op: string;
  readonly args?: unknown;
}

export type ChildReply = { readonly id: number; readonly ok: true; readonly value: unknown } | { readonly id: number; readonly ok: false; readonly error: string };

/** An unsolicited message from a child (e.g. memory samples). */
export interface ChildEvent {
  readonly event: string;
  readonly value: unknown;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isReply(message: unknown): message is ChildReply {
  return isRecord(message) && typeof message['id'] === 'number' && typeof message['ok'] === 'boolean';
}

/** The compiled script `name`.js of this folder, from dist/ or (under ts-jest, from src/) ../dist. */
export function compiledScript(name: string): string {
  const candidates = [join(__dirname, `${name}.js`), join(__dirname, '..', 'dist', `${name}.js`)];
  const found = candidates.find((p) => existsSync(p) && !p.endsWith('.ts'));
  if (!found) throw new Error(`benchmark child script ${name}.js not found (looked in ${candidates.join(', ')}); run npm run build first`);
  return found;
}

export function compiledScriptExists(name: string): boolean {
  try {
    compiledScript(name);
    return true;
  } catch {
    return false;
  }
}

/** A forked script answering ChildRequests. */
export class ChildHandle {
  private readonly child: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private exited: Error | undefined;
  readonly exit: Promise<number | null>;

  constructor(script: string, args: readonly string[], onEvent?: (e: ChildEvent) => void, execArgv: readonly string[] = []) {
    // Both child streams go to our stderr: a failing child explains itself, and stdout stays pure (--json).
    this.child = fork(compiledScript(script), [...args], { stdio: ['ignore', 2, 2, 'ipc'], serialization: 'advanced', execArgv: [...process.execArgv, ...execArgv] });
    this.child.on('message', (message: unknown) => {
      if (isReply(message)) {
        const p = this.pending.get(message.id);
        if (!p) return;
        this.pending.delete(message.id);
        if (message.ok) p.resolve(message.value);
        else p.reject(new Error(`${script}: ${message.error}`));
      } else if (isRecord(message) && typeof message['event'] === 'string') onEvent?.({ event: message['event'], value: message['value'] });
    });
    this.exit = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        this.exited = new Error(`${script} exited (${signal ?? `code ${code}`})`);
        for (const p of this.pending.values()) p.reject(this.exited);
        this.pending.clear();
        resolve(code);
      }),
    );
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  call(op: string, args?: unknown): Promise<unknown> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const request: ChildRequest = args === undefined ? { id, op } : { id, op, args };
      this.child.send(request);
    });
  }

  /** Asks the child to exit (op "exit"), then kills it if it lingers. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.exited) return;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      await this.call('exit');
    } catch {
      // exiting children may not answer
    }
    await this.exit;
    clearTimeout(timer);
  }
}

/** The child side: answers requests with `handle` until op "exit". */
export function serveParent(handle: (op: string, args: unknown) => Promise<unknown>): void {
  process.on('message', (message: unknown) => {
    if (!isRecord(message) || typeof message['id'] !== 'number' || typeof message['op'] !== 'string') return;
    const id = message['id'];
    const op = message['op'];
    const reply = (r: ChildReply) => process.send?.(r);
    if (op === 'exit') {
      reply({ id, ok: true, value: null });
      process.disconnect?.();
      setImmediate(() => process.exit(0));
      return;
    }
    handle(op, message['args']).then(
      (value) => reply({ id, ok: true, value }),
      (error: unknown) => reply({ id, ok: false, error: error instanceof Error ? error.message : String(error) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}

/** Sends an unsolicited event to the parent. */
export function sendEvent(event: string, value: unknown): void {
  const e: ChildEvent = { event, value };
  process.send?.(e);
}
