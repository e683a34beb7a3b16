// The `clock` import's backends: the plugin's only clock. Instants are whole
// seconds since the Unix epoch (the WIT `instant`), as JS numbers.

/** The host's real wall clock. */
export class SystemClock {
  /** @returns {number} seconds since the epoch */
  now() {
    return Math.floor(Date.now() / 1000);
  }
}

/** A simulated clock that moves only when told to (tests, replays). */
export class SimClock {
  /** @param {number} now the instant it starts at */
  constructor(now = 0) {
    this._now = Math.floor(now);
  }
  now() {
    return this._now;
  }
  /** Puts the clock at `now` (it may go backwards). */
  set(now) {
    this._now = Math.floor(now);
  }
  /** Moves the clock forward by `seconds`; returns the new instant. */
  advance(seconds) {
    this._now += Math.floor(seconds);
    return this._now;
  }
}
