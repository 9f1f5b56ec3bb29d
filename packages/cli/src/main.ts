/**
 * The `pfedlora` command. Each subcommand is its own module, loaded only when
 * called; typed errors become exit codes here and nowhere else.
 */
import { CliError, EXIT, UsageError } from './errors';
import { quietIpServernameWarning } from './quiet-warnings';

type CommandRun = (argv: readonly string[]) => Promise<number>;

interface CommandEntry {
  readonly summary: string;
  readonly load: () => Promise<CommandRun>;
}

const COMMANDS: Record<string, CommandEntry> = {
  coordinator: { summary: 'run the coordinator service (clients dial in over gRPC)', load: async () => (await import('./commands/coordinator')).coordinator },
  client: { summary: 'run a client daemon that trains on its private data', load: async () => (await import('./commands/client')).client },
  cluster: { summary: 'a coordinator and N client processes on this machine (npm start)', load: async () => (await import('./commands/cluster')).cluster },
  rounds: { summary: 'operate the run: rounds start|pause|resume|abort|status', load: async () => (await import('./commands/rounds')).rounds },
  clients: { summary: 'list or evict clients: clients list|evict', load: async () => (await import('./commands/clients')).clients },
  config: { summary: 'show the effective configuration: config print coordinator|client', load: async () => (await import('./commands/config')).config },
  certs: { summary: 'TLS certificates: certs init|issue|revoke (CA, coordinator, operator, clients)', load: async () => (await import('./commands/certs')).certs },
  simulate: { summary: 'run a whole federation in this process (research)', load: async () => (await import('./commands/simulate')).simulate },
  reproduce: { summary: "the paper's grid (algorithms x settings x seeds), resumable, with report.md/html, results.csv, plots", load: async () => (await import('./commands/reproduce')).reproduce },
  doctor: { summary: 'show the training engine, data and versions found here', load: async () => (await import('./commands/doctor')).doctor },
  bench: { summary: 'benchmarks: bench train', load: async () => (await import('./commands/bench')).bench },
};

export function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length)) + 2;
  return [
    'Usage: pfedlora <command> [options]',
    '',
    'pFedLoRA: personalized federated learning over heterogeneous private models with one shared low-rank adapter.',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`),
    '',
    "Run 'pfedlora <command> --help' for a command's options.",
    '',
  ].join('\n');
}

export async function runCli(argv: readonly string[]): Promise<number> {
  quietIpServernameWarning();
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainHelp());
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`${require('../package.json').version as string}\n`);
    return EXIT.ok;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    process.stderr.write(`pfedlora: unknown command "${name}". Commands: ${Object.keys(COMMANDS).join(', ')}.\n`);
    return EXIT.usage;
  }
  try {
    const run = await entry.load();
    return await run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`pfedlora ${name}: ${error.message}\n`);
      return EXIT.usage;
    }
    if (error instanceof CliError) {
      process.stderr.write(`pfedlora ${name}: ${error.message}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`pfedlora ${name}: error: ${message}\n`);
    if (process.env['PFEDLORA_DEBUG'] && error instanceof Error) process.stderr.write(`${error.stack ?? ''}\n`);
    return EXIT.failure;
  }
}
