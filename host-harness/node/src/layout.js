// The shared memory between the host's thread and one worker (pool.js,
// worker.js): two counters the threads wait on, and the running call's
// clock, which the host's watchdog reads.

/** Index of the `signals` counters: calls posted to the worker (one per message on its port). */
export const INBOX = 0;
/** Index of the `signals` counters: answers posted to the worker's reply port. */
export const REPLIES = 1;
/** Int32 counters. */
export const SIGNALS_BYTES = 8;

// Indexes of the `timing` cells (Float64; instants in ms, `now()`).
/** The call running (its id), 0 between calls. */
export const T_JOB = 0;
/** When it started. */
export const T_STARTED = 1;
/** Time it spent in imports, finished ones. */
export const T_IMPORT_MS = 2;
/** When the import it is in began, 0 when it is in none. */
export const T_IMPORT_SINCE = 3;
/** The call that last called `scheduler.wake-at` ... */
export const T_WAKE_JOB = 4;
/** ... and the instant it asked for (NaN: none). */
export const T_WAKE_AT = 5;
export const TIMING_BYTES = 6 * 8;

/** Milliseconds on a clock both threads share. */
export const now = () => performance.timeOrigin + performance.now();
