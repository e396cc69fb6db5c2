/**
 * The engine's public interface for the user interfaces (src/ui): what a dashboard or terminal
 * needs to steer a run from outside — send a control request (approve a gate, abort) to a run's
 * control file, and read who holds the cluster lock. ui imports the engine only through this file
 * (test/architecture.test.ts). Example: `sendControl(controlFile(stateDir, run), { type: 'abort', by: 'dashboard' })`.
 */
export { type ControlRequest, type ControlRequestBody, controlFile, sendControl } from './control.js';
export { ClusterLock, type LockHolder } from './lock.js';
