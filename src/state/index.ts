/**
 * What a run keeps beside its journal: the cluster lock (a lease on every host) and the control
 * channel (abort and gate decisions from the dashboard or another terminal).
 */
export {
  type ControlRequest,
  type ControlRequestBody,
  ControlWatcher,
  controlFile,
  type GateDecision,
  type GateDeciders,
  raceGate,
  readControl,
  sendControl,
} from './control.js';
export { ClusterLock, holderAlive, type LockHolder } from './lock.js';
