/**
 * The engine's public interface: what the CLI, the UI and benchmarks may use. Everything else in
 * src/engine/ (rolling policy, drain, saga, step execution) is internal to it.
 * Example: `await new Engine({ plan, runId, journal, connect, redactor, approveGate, templateScope }).apply()`.
 */
export { type Clock, FakeClock, systemClock } from '../actions/clock.js';
export { Engine, type EngineOptions, type GateApprover, ResumeBlocked } from './engine.js';
export { previewPlan } from './preview.js';
