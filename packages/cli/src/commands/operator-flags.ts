/** Flags of the operator commands (rounds, clients). */
import { boolFlag, stringFlag, type FlagSpecs, type ParsedFlags } from '../args';
import { connectAdmin, DEFAULT_ADMIN_ADDRESS, type AdminConnection } from '../admin-client';
import { OPERATOR_TLS_FLAGS, operatorTransportFromFlags } from './tls-flags';

export const OPERATOR_FLAGS: FlagSpecs = {
  coordinator: { type: 'string', value: 'HOST:PORT', help: `the coordinator's Admin address (env PFEDLORA_ADMIN_ADDRESS)`, default: DEFAULT_ADMIN_ADDRESS },
  ...OPERATOR_TLS_FLAGS,
  json: { type: 'boolean', help: 'print JSON (the documented formats of docs/operations.md)' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

export function operatorConnection(flags: ParsedFlags): AdminConnection {
  const address = stringFlag(flags, 'coordinator') ?? process.env['PFEDLORA_ADMIN_ADDRESS'] ?? DEFAULT_ADMIN_ADDRESS;
  const transport = operatorTransportFromFlags(flags);
  return connectAdmin(address, process.env['PFEDLORA_ADMIN_TOKEN'], transport.kind === 'tls' ? transport : undefined);
}

export const wantsJson = (flags: ParsedFlags) => boolFlag(flags, 'json');
