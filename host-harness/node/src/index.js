// @pms-smartlock/node-host: embeds the smart-lock plugin component
// (wit/, pms:smartlock@0.3.0, world smartlock-plugin) in Node.js.
// See README.md for the steps and host.js for the sandbox's rules.

export { Host, LoadedComponent, TenantHandle, DEFAULT_LIMITS, DEFAULT_COMPONENT_DIR, EMAIL_LIMITS } from './host.js';
export { PluginError, TrapError, InstantiateError } from './errors.js';
export {
  errorSentence,
  ERROR_SENTENCES,
  brandOf,
  typedFields,
  credentialList,
  connectCredentials,
  eventFromJson,
  MAX_EVENT_ID_BYTES,
  MAX_EVENT_BYTES,
} from './contract.js';
export {
  SqliteDb,
  SqliteStore,
  SqliteOutbox,
  SqliteEvents,
  MemoryEvents,
  StorageError,
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  MAX_LIST_LIMIT,
} from './storage.js';
export { VendorRoutes, SyncHttpClient, HttpError, DEFAULT_HTTP_CONFIG } from './http.js';
export { SystemClock, SimClock } from './clock.js';
export { WakeUps } from './wakeups.js';
export { ConsoleLogger, MemoryLogger, silentLogger, LEVELS } from './log.js';
export { substitute, variables, isVariableName } from './template.js';
