/** `pfedlora config print coordinator|client`: the effective configuration after file, flags and environment. */
import { stringify } from 'yaml';
import { UsageError } from '../errors';
import { parseWithConfig, withFileErrors } from '../config-file';
import { CLIENT_FLAGS, clientSettingsFromFlags } from './client';
import { COORDINATOR_FLAGS, coordinatorSettingsFromFlags } from './coordinator';

const HELP = [
  'Usage: pfedlora config print <coordinator|client> [--config FILE] [options of that command] [--json]',
  '',
  'Prints the configuration the command would run with: its defaults, overridden by the YAML file given',
  'with --config, overridden by flags and environment variables. Credentials are shown as "(set)".',
  '',
].join('\n');

const SECRETS = new Set(['clientCredential', 'adminToken', 'credential']);

function redact(config: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, SECRETS.has(k) ? '(set)' : v]));
}

export async function config(argv: readonly string[]): Promise<number> {
  const [action, target, ...rest] = argv;
  if (action === undefined || action === '--help' || action === '-h') {
    process.stdout.write(HELP);
    return action === undefined ? 2 : 0;
  }
  if (action !== 'print') throw new UsageError(`unknown action "${action}": expected print`);
  const json = rest.includes('--json');
  const args = rest.filter((a) => a !== '--json');
  let effective: object;
  // The whole command's settings are read, so the file is checked as the command itself would; the config is shown.
  if (target === 'coordinator') effective = withFileErrors(parseWithConfig(args, COORDINATOR_FLAGS, 'coordinator'), coordinatorSettingsFromFlags).config;
  else if (target === 'client') effective = withFileErrors(parseWithConfig(args, CLIENT_FLAGS, 'client'), clientSettingsFromFlags).config;
  else throw new UsageError(`config print needs coordinator or client, got "${target ?? ''}"`);
  const shown = redact(effective);
  process.stdout.write(json ? JSON.stringify(shown, null, 2) + '\n' : stringify(shown));
  return 0;
}
