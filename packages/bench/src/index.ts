/**
 * `@pfedlora/bench`: the benchmarks as a library: training throughput, and
 * the federation's transport, aggregation, overhead, memory and load runs.
 * Each runs from an options object (DEFAULT_* is the documented
 * configuration of a federation benchmark) and returns a report of the shape
 * `pfedlora bench <name> --json` prints (a federation benchmark's with the
 * machine it ran on and its targets); progress goes to an optional callback,
 * nothing to stdout. `pfedlora bench` parses flags and prints.
 * docs/benchmarks.md has the measured figures.
 */
export { DEFAULT_TRANSPORT, runTransportBench, type DirectionResult, type TransportCase, type TransportOptions, type TransportReport } from './transport';
export { DEFAULT_AGGREGATE, runAggregateBench, type AggregateCase, type AggregateOptions, type AggregateProfile, type AggregateReport } from './aggregate';
export { DEFAULT_OVERHEAD, runOverheadBench, type OverheadOptions, type OverheadReport, type OverheadRound } from './overhead';
export { DEFAULT_MEMORY, runMemoryBench, type MemoryModel, type MemoryOptions, type MemoryReport } from './memory';
export { CLIENTS_PER_PROCESS, DEFAULT_LOAD, defaultClientProcesses, defaultWarmupRounds, ROUND_OVERHEAD_TARGET_SEC, rssFlatness, runLoadBench, slope, type LoadOptions, type LoadReport, type LoadRound, type RssSummary } from './load';
export { MIB, parseNumberList, type MachineInfo, type TargetCheck } from './stats';
export { runTrainBench, type TrainBenchOptions, type TrainBenchReport } from './train';
export { compiledScriptExists } from './child';
export { LocalFleet, SyntheticClient, type Fleet, type FleetSpec, type PhaseResult } from './synthetic-client';
