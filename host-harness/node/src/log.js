// Logging: the `log` import's lines and the host's own, each tagged with
// the tenant. A logger is any object with `log(level, message, fields)`;
// `fields` holds `tenant`, `target` ("plugin" for the plugin's own lines,
// "host" for this host's) and details. Never headers, bodies or secrets.

export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'];

/**
 * Writes lines to stderr (or `stream`) at `level` and above, in the shape
 * smartlock-host's tracing output has:
 * `2026-03-01T08:00:00.123Z  INFO plugin: message tenant="acct-42"`.
 * The default level comes from `SMARTLOCK_LOG` (else `info`).
 */
export class ConsoleLogger {
  constructor({ level = process.env.SMARTLOCK_LOG || 'info', stream = process.stderr } = {}) {
    this.min = Math.max(0, LEVELS.indexOf(level));
    this.stream = stream;
  }

  enabled(level) {
    return LEVELS.indexOf(level) >= this.min;
  }

  log(level, message, fields = {}) {
    if (!this.enabled(level)) return;
    const { target = 'host', ...rest } = fields;
    const extra = Object.entries(rest)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v) : v}`)
      .join(' ');
    this.stream.write(`${new Date().toISOString()} ${level.toUpperCase().padStart(5)} ${target}: ${message}${extra ? ' ' + extra : ''}\n`);
  }
}

/** Drops everything (tests). */
export const silentLogger = { log() {}, enabled: () => false };

/** Keeps lines in memory (tests): `lines` is `[{level, message, ...fields}]`. */
export class MemoryLogger {
  constructor() {
    this.lines = [];
  }
  log(level, message, fields = {}) {
    this.lines.push({ level, message, ...fields });
  }
  enabled() {
    return true;
  }
}
