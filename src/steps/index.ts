import type { StepKind } from './kind.js';

/**
 * Every step kind by name (`domain.verb`). The runbook loader validates params against these,
 * `cutover docs` documents them, and the engine plans with them.
 */
export const stepKinds: ReadonlyMap<string, StepKind<any>> = new Map<string, StepKind<any>>([]);
