/**
 * The action interpreter, as the engine sees it: run a step kind's actions on a host (exec, put,
 * edit, wait, http, confirm), follow logs, send HTTP, and wait on an injected clock.
 */
export { type Clock, FakeClock, systemClock } from './clock.js';
export { ActionFailed, type ActionEnv, execOnHost, resolveWord } from './env.js';
export { type HttpResult, sendHttp } from './http.js';
export { markCommand, parseMark } from './log-follow.js';
export { runAction } from './run.js';
export { type PollResult, WaitFailed, waitFor } from './wait.js';
