// The `clock` import's backends: the plugin's only clock. Instants are whole
// seconds since the Unix epoch (the WIT `instant`), as JS numbers.

/** The host's real wall clock. */
export class SystemClock {
  /** @returns {number} seconds since the epoch */
  now() {
    return Math.floor(Date.now() / 1000);
  }
}

/**
 * A simulated clock that moves only when told to (tests, replays). Its
 * instant lives in shared memory, so the pool's workers read the clock the
 * caller sets, at the moment they read it, without a round trip to the
 * caller's thread.
 */
export class SimClock {
  /** @param {number} now the instant it starts at */
  constructor(now = 0) {
    /** @type {Float64Array} the instant, shared with the workers */
    this.cell = new Float64Array(new SharedArrayBuffer(8));
    this.cell[0] = Math.floor(now);
  }
  /** A clock over `cell` (another thread's SimClock). @param {Float64Array} cell */
  static over(cell) {
    const clock = Object.create(SimClock.prototype);
    clock.cell = cell;
    return clock;
  }
  now() {
    return this.cell[0];
  }
  /** Puts the clock at `now` (it may go backwards). */
  set(now) {
    this.cell[0] = Math.floor(now);
  }
  /** Moves the clock forward by `seconds`; returns the new instant. */
  advance(seconds) {
    this.cell[0] += Math.floor(seconds);
    return this.cell[0];
  }
}
