// Types of @pms-smartlock/node-host: the smart-lock plugin component
// (wit/, pms:smartlock@0.3.0) embedded in Node.js. Record fields are the
// WIT names in camelCase (as jco generates them); instants are seconds
// since the Unix epoch as numbers; `option<T>` is `T | undefined`;
// variants are `{tag, val}`.

/** Seconds since 1970-01-01T00:00:00Z (the WIT `instant`). */
export type Instant = number;
/** A brand (lock vendor) by its id, as the component's `admin.brands` lists it (R30). */
export type BrandId = string;
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

// ---- the contract's records -------------------------------------------------

export interface Property {
  id: string;
  name: string;
  /** IANA timezone, e.g. "Europe/Paris". */
  timezone: string;
  /** "HH:MM" local; undefined: 15:00. */
  checkInTime?: string;
  /** "HH:MM" local; undefined: 11:00. */
  checkOutTime?: string;
}

export interface Booking {
  id: string;
  propertyId: string;
  guestName?: string;
  /** "YYYY-MM-DD" in the property's timezone. */
  checkIn: string;
  checkOut: string;
  checkInTime?: string;
  checkOutTime?: string;
  status: 'confirmed' | 'cancelled';
}

export interface BookingEvent {
  booking: Booking;
  property: Property;
}

export interface TickSummary {
  processed: number;
  vendorRequests: number;
  /** Call `onTick` again at once. */
  moreDue: boolean;
}

/** One field of a brand's connect form. */
export interface CredentialField {
  /** The name `connect` takes it under, e.g. "client_id". */
  name: string;
  label: string;
  help: string;
  /** A form masks it; never logged or returned. */
  secret: boolean;
  /** Filled in by the host from its own configuration, not typed by the manager. */
  hostSupplied: boolean;
}

/** A brand the plugin manages, as data (R30). */
export interface BrandInfo {
  id: BrandId;
  name: string;
  /** The connect form, in order. */
  credentials: readonly CredentialField[];
  /** What a lock needs for codes to reach it remotely, in the brand's words (a device, a subscription). */
  lockNeeds: string;
  /** Where the brand's API lives (`https://host`): the default allow-list. */
  origins: readonly string[];
}

/** One credential value, by the field's name. */
export interface Credential {
  name: string;
  value: string;
}

/** `connect`'s credentials: a list of `{name, value}`, or values by field name. */
export type Credentials = Credential[] | Record<string, string | undefined | null>;

export interface Account {
  brand: BrandId;
  name: string;
}

/** How codes reach a lock: `kind`, the link as the brand names it; `via`, the device carrying them, if any. */
export interface RemotePath {
  kind: string;
  via?: string;
}

/** An assignment's settings; a field left out keeps its value (or the default). */
export interface Settings {
  /** 1 to 14, default 5. */
  daysBefore?: number;
  /** 0 to 240, default 30. */
  marginMinutes?: number;
  /** Spare codes kept on the lock while it can be reached (R25): 0 to 5, default 0. */
  backupCodes?: number;
}

export interface LockInfo {
  brand: BrandId;
  id: string;
  name: string;
  remote?: RemotePath;
  needs?: string;
}

export interface Assignment {
  propertyId: string;
  brand: BrandId;
  lockId: string;
  lockName: string;
  remote: RemotePath;
  daysBefore: number;
  marginMinutes: number;
  /** Spare codes kept on the lock (R25), 0 to 5. */
  backupCodes: number;
}

/**
 * A lock several properties use besides their own (a building entrance, a
 * gate), of any connected brand: every booking of the property also gets a
 * code on it (R26).
 */
export interface SharedDoor {
  propertyId: string;
  brand: BrandId;
  lockId: string;
  /** The door's name as its brand lists it; the guest's message and the alert name the door with it. */
  lockName: string;
  remote: RemotePath;
}

export type CodeState =
  | 'none'
  | 'scheduled'
  | 'creating'
  | 'on-lock'
  | 'moving'
  | 'deleting'
  | 'retrying'
  | 'failed'
  | 'removed'
  | 'left-to-expire';

export interface CodeWindow {
  start: Instant;
  end: Instant;
  startLocal: string;
  endLocal: string;
}

export interface CodeStatus {
  bookingId: string;
  state: CodeState;
  pin?: string;
  brand?: BrandId;
  lockId?: string;
  window?: CodeWindow;
  createAt?: Instant;
  lastError?: string;
  nextAttempt?: Instant;
  alertSent: boolean;
  /** The code the guest got instead (R24, R25), if any. */
  fallback?: FallbackCode;
  /** The booking's codes on the property's shared doors (R26), in the order the doors were added. */
  doors: DoorCode[];
}

/** A code the guest got because the regular one could not be put on the lock in time (R24, R25). */
export interface FallbackCode {
  /** "offline": computed by the brand's cloud, checked by the lock itself; "backup": a spare code of the lock's pool. */
  kind: string;
  /** What the guest types ({{smartlock_code}} renders it). */
  pin: string;
  window: CodeWindow;
  /** What the guest must do, e.g. "enter it once within 24 hours of the start"; undefined when there is no rule. */
  rule?: string;
  /** Whether it can be withdrawn (an offline code usually cannot). */
  revocable: boolean;
}

/** A booking's code on one shared door (R26): its own writes, retries and alert. */
export interface DoorCode {
  brand: BrandId;
  lockId: string;
  /** The door's name, as the guest's message shows it. */
  doorName: string;
  state: CodeState;
  /** The booking's own PIN wherever the door takes it. */
  pin?: string;
  window?: CodeWindow;
  lastError?: string;
  nextAttempt?: Instant;
  alertSent: boolean;
  fallback?: FallbackCode;
}

/** The WIT `error` variant. */
export type WitError =
  | { tag: 'invalid-input'; val: { field: string; reason: string } }
  | { tag: 'not-found'; val: { field: string; reason: string } }
  | { tag: 'not-connected'; val: BrandId }
  | { tag: 'credentials-rejected'; val: string }
  | { tag: 'lock-not-remote'; val: string }
  | { tag: 'other-brand-assigned'; val: string }
  | { tag: 'unknown-brand'; val: string }
  | { tag: 'vendor-unavailable'; val: string }
  | { tag: 'storage-failed'; val: string };

// ---- errors ---------------------------------------------------------------

/** The plugin refused the call; `message` is a plain sentence for the dashboard. */
export class PluginError extends Error {
  constructor(error: WitError | { tag: string; val?: unknown }, where?: { tenant?: string; export?: string });
  /** The variant's name, e.g. "invalid-input". */
  readonly variant: WitError['tag'] | string;
  readonly payload: unknown;
  /** invalid-input / not-found: the field, with underscores. */
  readonly field?: string;
  readonly tenant?: string;
  readonly export?: string;
}

/** The plugin trapped or a host import threw; only that call failed. For operators. */
export class TrapError extends Error {
  readonly tenant: string;
  /** One line: the export, what stopped it, the guest's panic message. */
  readonly detail: string;
  /** True when a host import threw. */
  readonly hostFailure: boolean;
}

/** No instance could be made; the plugin did not run. */
export class InstantiateError extends Error {
  readonly tenant: string;
  readonly detail: string;
}

export const ERROR_SENTENCES: Record<string, (payload: any) => string>;
export function errorSentence(error: { tag: string; val?: unknown }): string;

export type EventKind =
  | 'scheduled'
  | 'writing'
  | 'on-lock'
  | 'moved'
  | 'retrying'
  | 'failed'
  | 'fallback'
  | 'alert-sent'
  | 'deleted'
  | 'lock-unreachable'
  | 'lock-reachable';

/** A code event (R27, R28) as the plugin reports it. */
export interface CodeEvent {
  /** Unique per tenant: a repeated id is a duplicate. */
  id: string;
  at: Instant;
  kind: EventKind;
  bookingId?: string;
  propertyId?: string;
  brand?: BrandId;
  lockId?: string;
  /** The door's name when the lock is one of the property's shared doors (R26). */
  door?: string;
  atRisk?: number;
  detail: string;
}

/** The brand of `id` in a brand list. */
export function brandOf(brands: readonly BrandInfo[], id: string): BrandInfo | undefined;
/** The names of a brand's form fields the manager types (not host-supplied). */
export function typedFields(brand: BrandInfo): string[];
/** The WIT `list<credential>` of a list or an object of values by name (undefined/null left out). */
export function credentialList(credentials: Credentials): Credential[];
/** `given`, plus each host-supplied field of the brand's form it lacks, from `supplied` ('' when absent). */
export function connectCredentials(brand: BrandInfo | undefined, given: Credentials, supplied?: Record<string, string>): Credential[];
/** A stored event's JSON (smartlock-host's serde encoding) as a CodeEvent. */
export function eventFromJson(json: string): CodeEvent;
export const MAX_EVENT_ID_BYTES: number;
export const MAX_EVENT_BYTES: number;

// ---- backends ---------------------------------------------------------------

export interface Logger {
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
  enabled?(level: LogLevel): boolean;
}
export class ConsoleLogger implements Logger {
  constructor(options?: { level?: LogLevel; stream?: { write(chunk: string): unknown } });
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
  enabled(level: LogLevel): boolean;
}
export class MemoryLogger implements Logger {
  lines: Array<{ level: LogLevel; message: string; [field: string]: unknown }>;
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
  enabled(): boolean;
}
export const silentLogger: Logger;
export const LEVELS: LogLevel[];

export interface Clock {
  now(): Instant;
}
export class SystemClock implements Clock {
  now(): Instant;
}
/** Its instant is in shared memory: the host's workers read it where the caller sets it. */
export class SimClock implements Clock {
  constructor(now?: Instant);
  /** The instant, shared with the workers. */
  readonly cell: Float64Array;
  now(): Instant;
  set(now: Instant): void;
  advance(seconds: number): Instant;
}

export type Write = { tag: 'set'; val: { key: string; value: Uint8Array } } | { tag: 'delete'; val: string };

/** A tenant's key-value namespace (the `storage` import's backend). */
export interface KvStore {
  get(key: string): Uint8Array | undefined;
  set(key: string, value: Uint8Array): void;
  delete(key: string): void;
  /** All writes atomically, in order. */
  apply(writes: Write[]): void;
  /** Keys starting with `prefix`, ascending by UTF-8 bytes, after `startAfter`, at most `limit`. */
  list(prefix: string, startAfter: string | undefined, limit: number): Array<{ key: string; value: Uint8Array }>;
}

/** A tenant's e-mail outbox (the `email` import's backend): at most one e-mail per key, ever. */
export interface Mailer {
  /** false: a duplicate key, dropped. */
  record(dedupKey: string, at: Instant, subject: string, body: string): boolean;
}

/** A tenant's code events (the `code-events` import's backend): at most one per id, durable before `record` returns. */
export interface EventSink {
  /** `json`: smartlock-host's encoding of the event. false: a duplicate id, dropped. */
  record(id: string, at: Instant, json: string): boolean;
}
export interface StoredEvent {
  /** The cursor after it. */
  seq: number;
  id: string;
  at: Instant;
  json: string;
}
/** Events in memory: the same contract as SqliteEvents. */
export class MemoryEvents implements EventSink {
  record(id: string, at: Instant, json: string): boolean;
  after(after?: number, limit?: number): StoredEvent[];
}

export class StorageError extends Error {
  constructor(kind: 'unavailable' | 'too-large', detail: string, options?: ErrorOptions);
  readonly kind: 'unavailable' | 'too-large';
  readonly detail: string;
}
export const MAX_KEY_BYTES: number;
export const MAX_VALUE_BYTES: number;
export const MAX_LIST_LIMIT: number;

/**
 * A file's tenants are reached by the host's workers through connections of
 * their own (closed with this object); a ":memory:" database's are served
 * from the thread that made it.
 */
export class SqliteDb {
  /** A file (WAL, synchronous=FULL) or ":memory:". */
  constructor(path: string);
  readonly path: string;
  /** This object, across threads. */
  readonly id: string;
  /** The absolute path the workers open; null for ":memory:". */
  readonly file: string | null;
  tenant(id: string): SqliteStore;
  outbox(id: string): SqliteOutbox;
  /** The tenant's rows of the `events` table smartlock-host writes. */
  events(id: string): SqliteEvents;
  close(): void;
}
export class SqliteEvents implements EventSink {
  readonly tenantId: string;
  record(id: string, at: Instant, json: string): boolean;
  /** After the cursor `after` (0: the first), in recording order, at most `limit` (500). */
  after(after?: number, limit?: number): StoredEvent[];
}
export class SqliteStore implements KvStore {
  readonly tenantId: string;
  get(key: string): Uint8Array | undefined;
  set(key: string, value: Uint8Array): void;
  delete(key: string): void;
  apply(writes: Write[]): void;
  list(prefix: string, startAfter: string | undefined, limit: number): Array<{ key: string; value: Uint8Array }>;
}
export class SqliteOutbox implements Mailer {
  readonly tenantId: string;
  record(dedupKey: string, at: Instant, subject: string, body: string): boolean;
  emails(): Array<{ at: Instant; dedupKey: string; subject: string; body: string }>;
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The routed URL. */
  url: string;
  headers: Array<[string, string]>;
  body: Uint8Array;
  /** What is left of the call's wall-time budget. */
  timeoutMs?: number;
}
export interface HttpResponse {
  status: number;
  /** Lower-case names. */
  headers: Array<[string, string]>;
  body: Uint8Array;
}
/** The transport behind the allow-list: synchronous; throws HttpError. */
export interface HttpTransport {
  send(request: HttpRequest): HttpResponse;
}
export class HttpError extends Error {
  constructor(kind: 'forbidden' | 'timeout' | 'too-large' | 'transport', detail?: string | number);
  readonly kind: 'forbidden' | 'timeout' | 'too-large' | 'transport';
  readonly detail?: string | number;
}
export const DEFAULT_HTTP_CONFIG: { timeoutMs: number; maxResponseBytes: number };
/**
 * The real client: a helper thread does the I/O, the caller blocks on
 * Atomics.wait. The host calls it inside its workers; called on the main
 * thread it blocks the event loop for the whole request.
 */
export class SyncHttpClient implements HttpTransport {
  constructor(config?: { timeoutMs?: number; maxResponseBytes?: number });
  readonly config: { timeoutMs: number; maxResponseBytes: number };
  send(request: HttpRequest): HttpResponse;
}
/** The allow-list: vendor origin -> base URL; any other origin is `forbidden`. */
export class VendorRoutes {
  constructor(routes?: Iterable<[string, string]>);
  /** Every origin of `brands`, sent to `baseOf(id)` or to itself (the default allow-list). */
  static fromBrands(brands: readonly { id: string; origins: readonly string[] }[], baseOf?: (id: string) => string | null | undefined): VendorRoutes;
  /** Every origin of `brands`, all sent to `base`. */
  static via(base: string, brands: readonly { id: string; origins: readonly string[] }[]): VendorRoutes;
  /** Allows every origin of `brand`, sent to `base` or to itself. */
  routeBrand(brand: { origins: readonly string[] }, base?: string | null): this;
  /** `[origin, base]` pairs. */
  readonly routes: Array<[string, string]>;
  /** Changes with every insert. */
  readonly version: number;
  insert(origin: string, base: string): this;
  origins(): string[];
  /** The URL to send to; throws HttpError('forbidden'). */
  resolve(url: string): string;
}

export class WakeUps {
  set(tenant: string, at: Instant | null): void;
  next(tenant: string): Instant | null;
  earliest(): { at: Instant; tenant: string } | null;
  due(now: Instant): string[];
}

export function substitute(
  template: string,
  resolve: (name: string) => string | undefined | null | Promise<string | undefined | null>,
): Promise<string>;
export function variables(template: string): Promise<string[]>;
export function isVariableName(name: string): boolean;

// ---- the host ----------------------------------------------------------------

export const DEFAULT_COMPONENT_DIR: string;
export const DEFAULT_LIMITS: {
  /** Plugin time a call may use (5 000); time blocked in imports is not counted. Past it the worker is terminated. */
  callTimeoutMs: number;
  /** Time a call may take in all (60 000); HTTP requests get what is left. */
  callWallLimitMs: number;
  /** Linear memory of an instance (default: the build's cap, 64 MiB); growth past it fails inside the call. */
  memoryLimitBytes: number;
  /** JS heap of each worker (256); a worker that runs out fails its call and is replaced. */
  workerHeapMiB: number;
  maxLogLinesPerCall: number;
  maxLogMessageBytes: number;
};
export const EMAIL_LIMITS: { dedupKey: number; subject: number; body: number };

export interface HostOptions {
  /**
   * 'per-tenant' (default): the worker keeps the tenant's instance between calls, dropping it on any
   * trap, host exception or memory past the cap; 'per-call': a fresh instance for every call.
   */
  instances?: 'per-call' | 'per-tenant';
  /** With 'per-tenant': a new instance after this many calls (default 10 000). */
  maxCallsPerInstance?: number;
  /** Worker threads the calls run in (default 2 to 4, by the machine's cores). */
  workers?: number;
  /** Instances a worker keeps, the least recently used dropped first (default 32). */
  instancesPerWorker?: number;
  limits?: Partial<typeof DEFAULT_LIMITS>;
  /** Default: ConsoleLogger on stderr at $SMARTLOCK_LOG or info. */
  logger?: Logger;
}

/**
 * A tenant's backends. The shipped ones (a SqliteDb file's namespace and
 * outbox, SystemClock, SimClock, SyncHttpClient, VendorRoutes) run inside
 * the worker running the call; any other object (and a ":memory:"
 * database) is called on the thread that made the host, while the worker
 * waits: it must answer synchronously (a Promise fails the call) and
 * quickly (its work is on the event loop).
 */
export interface TenantBackends {
  /** Default: an in-memory SQLite namespace. */
  storage?: KvStore;
  /** Default: the outbox of the storage's SqliteDb. */
  mailer?: Mailer;
  /** Default: the `events` table of the storage's SqliteDb. */
  events?: EventSink;
  /** Default: a shared SyncHttpClient (10 s, 1 MiB). */
  http?: HttpTransport;
  /** Default: SystemClock. */
  clock?: Clock;
  /** Default: the host's. */
  logger?: Logger;
  /** The allow-list; default VendorRoutes.fromBrands(component.brands) (the brands' real origins). */
  routes?: VendorRoutes;
}

/** The transpiled component (gen/), compiled once; share it between hosts (hosts with the same settings share workers). */
export class LoadedComponent {
  static load(dir?: string): Promise<LoadedComponent>;
  readonly manifest: { source: string; sha256: string; bytes: number; jco: string; [k: string]: unknown };
  readonly loadMs: number;
  /** The component's `admin.brands()`, read at load (R30). */
  readonly brands: readonly BrandInfo[];
  brand(id: string): BrandInfo | undefined;
}

/**
 * The plugin's calls run in a pool of worker threads, never on the caller's
 * event loop; a tenant's calls run one after the other, different tenants
 * side by side.
 */
export class Host {
  /** Loads the component, makes a host and starts its workers. */
  static load(options?: HostOptions & { componentDir?: string }): Promise<Host>;
  /** The workers start with the first call (or `ready()`). */
  constructor(component: LoadedComponent, options?: HostOptions);
  readonly component: LoadedComponent;
  readonly wakeUps: WakeUps;
  readonly limits: typeof DEFAULT_LIMITS;
  /** Worker threads. */
  readonly workers: number;
  /** Starts the workers; rejects if they cannot start. */
  ready(): Promise<void>;
  /** Drops this host's instances; the workers stop when no other host uses them. Calls still waiting fail. */
  close(): Promise<void>;
  /** The same component in a new host: no instances, queues or wake-ups (a process restart). Shares the workers. */
  restarted(): Host;
  tenant(id: string, backends?: TenantBackends): TenantHandle;
  /** Tenants whose wake-up is at or before `now`, earliest first. */
  dueTenants(now: Instant): string[];
  nextWake(tenant: string): Instant | null;
  earliestWake(): { at: Instant; tenant: string } | null;
}

/**
 * Calls the plugin as one tenant; calls of one tenant id run one after the
 * other, in a worker. Rejects with PluginError, TrapError (a trap, a host
 * exception, the deadline: `interrupted: exceeded the time limit`, the
 * memory cap: `exceeded the memory limit`) or InstantiateError.
 */
export class TenantHandle {
  readonly id: string;
  readonly backends: Required<TenantBackends>;
  onBookingChanged(event: BookingEvent): Promise<void>;
  onPropertyChanged(property: Property): Promise<void>;
  /** Every 1-15 minutes and at wakeUp(); again at once while moreDue. Default `now`: the tenant's clock. */
  onTick(now?: Instant): Promise<TickSummary>;
  wakeUp(): Instant | null;
  renderVariable(name: string, bookingId: string): Promise<string | undefined>;
  /** `{{smartlock_code}}` and friends substituted; unknown variables left as written. */
  render(template: string, bookingId: string): Promise<string>;
  /** The component's brands (no call). */
  brands(): readonly BrandInfo[];
  /** Every field of the brand's form, host-supplied ones included (see connectCredentials). */
  connect(brand: BrandId, credentials: Credentials): Promise<Account>;
  disconnect(brand: BrandId): Promise<void>;
  accounts(): Promise<Account[]>;
  listLocks(brand: BrandId): Promise<LockInfo[]>;
  assign(propertyId: string, brand: BrandId, lockId: string, settings?: Settings): Promise<Assignment>;
  unassign(propertyId: string): Promise<void>;
  getAssignment(propertyId: string): Promise<Assignment | undefined>;
  /** Adds a shared door (R26); at most 4 per property, adding one twice changes nothing. */
  shareDoor(propertyId: string, brand: BrandId, lockId: string): Promise<SharedDoor>;
  /** Removes a shared door: codes not started are deleted, a guest mid-stay keeps theirs (R17). */
  unshareDoor(propertyId: string, brand: BrandId, lockId: string): Promise<void>;
  /** The property's shared doors, in the order they were added. */
  sharedDoors(propertyId: string): Promise<SharedDoor[]>;
  bookingStatus(bookingId: string): Promise<CodeStatus>;
  /**
   * Several raw calls on one fresh instance (benchmarks): bigint instants, jco's errors. Runs on
   * the calling thread, blocking it, with no deadline: not for a server.
   */
  withInstance<T>(fn: (exports: any) => T): Promise<T>;
}
