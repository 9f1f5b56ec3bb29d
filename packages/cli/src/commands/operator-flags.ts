/** Flags of the operator commands (rounds, clients). */
import { boolFlag, stringFlag, type FlagSpecs, type ParsedFlags } from '../args';
import { connectAdmin, DEFAULT_ADMIN_ADDRESS, type AdminConnection } from '../admin-client';

export const OPERATOR_FLAGS: FlagSpecs = {
  coordinator: { type: 'string', value: 'HOST:PORT', help: `the coordinator's Admin address (env PFEDLORA_ADMIN_ADDRESS)`, default: DEFAULT_ADMIN_ADDRESS },
  json: { type: 'boolean', help: 'print JSON (the documented formats of docs/operations.md)' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

export function operatorConnection(flags: ParsedFlags): AdminConnection {
  const address = stringFlag(flags, 'coordinator') ?? process.env['PFEDLORA_ADMIN_ADDRESS'] ?? DEFAULT_ADMIN_ADDRESS;
  return connectAdmin(address, process.env['PFEDLORA_ADMIN_TOKEN']);
}

export const wantsJson = (flags: ParsedFlags) => boolFlag(flags, 'json');
