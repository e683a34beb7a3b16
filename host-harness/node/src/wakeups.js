// The bookkeeping of wake-ups (R21), as smartlock-host's `WakeUps`: the
// instant each tenant's plugin last asked to be ticked at through the
// `scheduler.wake-at` import, and which tenants are due at an instant.
// In memory only: after a restart it is empty until each tenant's next call.

export class WakeUps {
  constructor() {
    /** @type {Map<string, number>} */
    this._byTenant = new Map();
  }

  /** Records the plugin's latest answer for `tenant`; `null` clears it. */
  set(tenant, at) {
    if (at === null || at === undefined) this._byTenant.delete(tenant);
    else this._byTenant.set(tenant, Number(at));
  }

  /** The tenant's next wake-up (seconds), or `null`. */
  next(tenant) {
    return this._byTenant.get(tenant) ?? null;
  }

  /** The earliest wake-up of any tenant, `{at, tenant}`, or `null`. */
  earliest() {
    let best = null;
    for (const [tenant, at] of this._byTenant) {
      if (best === null || at < best.at || (at === best.at && tenant < best.tenant)) best = { at, tenant };
    }
    return best;
  }

  /**
   * Ids of the tenants whose wake-up is at or before `now`, earliest first
   * (ties by id). Entries stay until the plugin replaces them (a tick does).
   */
  due(now) {
    return [...this._byTenant]
      .filter(([, at]) => at <= now)
      .sort(([ta, a], [tb, b]) => a - b || (ta < tb ? -1 : ta > tb ? 1 : 0))
      .map(([tenant]) => tenant);
  }
}
