/** Flags several commands share. */
import { BACKEND_CHOICES, type BackendChoice } from '@pfedlora/ml';
import { choiceFlag, type FlagSpecs, type ParsedFlags } from '../args';

export const BACKEND_FLAG: FlagSpecs = {
  backend: { type: 'string', value: 'NAME', help: `training engine: ${BACKEND_CHOICES.join(', ')}`, default: 'auto' },
};

export function backendFlag(flags: ParsedFlags): BackendChoice {
  return choiceFlag(flags, 'backend', BACKEND_CHOICES, 'auto');
}
