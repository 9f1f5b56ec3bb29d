export { runCli, mainHelp } from './main';
export { UsageError, EXIT } from './errors';
export { simulationConfigFromFlags } from './commands/simulate';
export { roundsCsv } from '@pfedlora/report';
export type { DoctorReport } from './commands/doctor';
