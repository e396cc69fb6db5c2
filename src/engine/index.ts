/**
 * The engine's public interface: what the CLI, the user interfaces (src/ui) and benchmarks may use.
 * Everything else in src/engine/ (rolling policy, drain, saga, step execution) is internal to it;
 * ui imports the engine only through this file (test/architecture.test.ts). Besides the engine
 * itself: what a dashboard or terminal needs to steer a run from outside — send a control request
 * (approve a gate, abort) to a run's control file, and read who holds the cluster lock (src/state).
 * Example: `await new Engine({ plan, runId, journal, connect, redactor, approveGate, templateScope }).apply()`;
 * `sendControl(controlFile(stateDir, run), { type: 'abort', by: 'dashboard' })`.
 */
export { type Clock, FakeClock, systemClock } from '../actions/clock.js';
export {
  ClusterLock,
  type ControlRequest,
  type ControlRequestBody,
  controlFile,
  type LockHolder,
  sendControl,
} from '../state/index.js';
export { Engine, type EngineOptions, type GateApprover, ResumeBlocked } from './engine.js';
export { operator } from './context.js';
export { breakHostLock, HOST_LOCK_DIR, type HostHolder, HostLease, readHostLock } from './lease.js';
export { previewPlan } from './preview.js';
