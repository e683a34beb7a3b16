// The errors a call can end with. Like smartlock-host: the plugin refusing
// the request (`PluginError`, its WIT `error` variant as a plain sentence a
// dashboard can show) is distinct from a host-side failure (`TrapError`: the
// plugin trapped or a host import failed; `InstantiateError`: no instance
// could be made). Both host-side errors are for operators, not for guests.

import { errorSentence } from './contract.js';

/** The plugin's answer was an `error` variant. */
export class PluginError extends Error {
  /**
   * @param {{tag: string, val?: any}} error the WIT `error` value
   * @param {{tenant?: string, export?: string}} [where]
   */
  constructor(error, where = {}) {
    super(errorSentence(error));
    this.name = 'PluginError';
    /** The variant's name, e.g. `"invalid-input"`. */
    this.variant = error.tag;
    /** Its payload: a `{field, reason}` record, a string, a provider, or undefined. */
    this.payload = error.val;
    /** For `invalid-input` and `not-found`: the field, with underscores. */
    this.field = error.val && typeof error.val === 'object' && 'field' in error.val ? error.val.field.replace(/-/g, '_') : undefined;
    this.tenant = where.tenant;
    this.export = where.export;
  }
}

/**
 * The plugin trapped (panic, stack overflow, `exit`) or a host import threw.
 * Storage writes made before the trap remain; the instance is discarded.
 */
export class TrapError extends Error {
  /**
   * @param {string} tenant
   * @param {string} message one line: the export, what stopped it, and the guest's panic message
   * @param {{cause?: unknown, hostFailure?: boolean}} [details]
   */
  constructor(tenant, message, details = {}) {
    super(`plugin trapped (tenant ${tenant}): ${message}`, { cause: details.cause });
    this.name = 'TrapError';
    this.tenant = tenant;
    this.detail = message;
    /** True when a host import threw (not the guest's own trap). */
    this.hostFailure = Boolean(details.hostFailure);
  }
}

/** No instance could be made; the plugin did not run. */
export class InstantiateError extends Error {
  constructor(tenant, message, details = {}) {
    super(`plugin could not be instantiated (tenant ${tenant}): ${message}`, { cause: details.cause });
    this.name = 'InstantiateError';
    this.tenant = tenant;
    this.detail = message;
  }
}

/** A WIT `error` thrown by the bindings (jco's `ComponentError`, payload `{tag, val}`). */
export function isComponentError(e) {
  return (
    e instanceof Error &&
    Object.prototype.hasOwnProperty.call(e, 'payload') &&
    e.payload !== null &&
    typeof e.payload === 'object' &&
    typeof e.payload.tag === 'string'
  );
}
