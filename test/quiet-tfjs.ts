/**
 * tfjs-backend-cpu prints a banner through console.warn the first time a
 * process puts a tensor on the cpu backend ("Hi, looks like you are running
 * TensorFlow.js in Node.js. To speed things up dramatically, install our node
 * backend..."): in the tests, once per test file that compares a kernel with
 * the cpu backend, 8 times a run. It is advice about tfjs-node, which the
 * engine already reports on (`pfedlora doctor`). Only that message is dropped,
 * as packages/cli/src/quiet-warnings.ts drops only DEP0123: every other
 * warning, tfjs's included, still prints. (tfjs's own switches, the IS_TEST
 * and PROD flags, would silence all of its warnings.)
 */
export const TFJS_NODE_BANNER = 'Hi, looks like you are running TensorFlow.js in Node.js';

export function isTfjsNodeBanner(args: readonly unknown[]): boolean {
  return args.length === 1 && typeof args[0] === 'string' && args[0].includes(TFJS_NODE_BANNER);
}

/** Wraps `target.warn` so that it drops the banner and passes everything else on. */
export function dropTfjsNodeBanner(target: Pick<Console, 'warn'>): void {
  const warn = target.warn;
  target.warn = (...args: unknown[]): void => {
    if (isTfjsNodeBanner(args)) return;
    warn.apply(target, args);
  };
}
