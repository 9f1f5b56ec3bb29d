export { runCli, mainHelp } from './main';
export { UsageError, EXIT } from './errors';
export { simulationConfigFromFlags, roundsCsv } from './commands/simulate';
export type { DoctorReport } from './commands/doctor';
