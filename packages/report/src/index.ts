/**
 * `@pfedlora/report`: simulation result files, the reproduction grid and its
 * report, as a library (`pfedlora reproduce` and `simulate --out` parse their
 * flags and call these). Grid naming (grid.ts), running the grid resumably
 * (run-grid.ts), result files (result-file.ts), cost accounting (metrics.ts),
 * the report model (report.ts), its renderers (render.ts, svg.ts) and writing
 * them to disk (write-report.ts). docs/reproduce.md describes the grid.
 */
export * from './grid';
export * from './metrics';
export * from './report';
export * from './render';
export * from './result-file';
export * from './run-grid';
export * from './write-report';
export { linePlot, escapeXml, PALETTE, type Series, type PlotSpec, type PlotPoint } from './svg';
