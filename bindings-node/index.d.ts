// Types for klaviyo-bridge (the runtime is the native addon plus index.js). The operations of
// every namespace are typed in operations.d.ts (generated); the hand-written verbs here.

import type * as ops from './operations'
export type * from './operations'

export interface ClientOptions {
  /** Private key (pk_…). Default: KLAVIYO_API_KEY from the environment or a .env file. */
  apiKey?: string
  /** Default https://a.klaviyo.com (or KLAVIYO_BASE_URL). http:// only for loopback. */
  baseUrl?: string
  /** Default 2026-07-15 (or KLAVIYO_REVISION). */
  revision?: string
  /** Whole-request timeout in seconds (default 60). */
  timeout?: number
  /** Connect timeout in seconds (default 10). */
  connectTimeout?: number
  /** Retries after the first attempt (default 3). */
  maxRetries?: number
  /** Seconds: the longest wait before a retry (a Retry-After included) or for a client-side
   * rate-limit slot; a longer one fails the call (default 60). */
  maxDelay?: number
  /** Seconds: the longest wait for a client-side rate-limit slot, when it should differ from
   * maxDelay. */
  rateLimitWait?: number
  /** Client-side rate limiting per operation (default true). */
  rateLimit?: boolean
  /** Where the account's rate-limit budget is shared with other processes and hosts:
   * `redis://host:port/db` (OAuth clients add `?budget=ACCOUNT_ID`), or `memory` (this
   * process alone, the default; env KLAVIYO_RATE_LIMIT_STORE). */
  rateLimitStore?: string
  /** The account's public key, for /client/* operations. */
  publicKey?: string
  /** An OAuth access token instead of a private key (fixed; use `oauth` to refresh). */
  accessToken?: string
  userAgentSuffix?: string
  /** HTTP statuses worth retrying (default 429, 500, 502, 503, 504, 524; a 5xx only for a request safe to repeat). */
  retryStatuses?: number[]
  /** OAuth: the client refreshes `tokens` when less than `refreshMargin` seconds (60) remain
   * and once after a 401, one refresh at a time; `onRefresh` persists each new set. */
  oauth?: { app: OAuthApp; tokens: TokensInit; onRefresh?: (tokens: Tokens) => void | Promise<void>; refreshMargin?: number }
  /** A sandbox from `klaviyo-bridge/testing`: its `url` and `apiKey` unless given. */
  sandbox?: { readonly url: string; readonly apiKey: string; readonly publicKey?: string }
}

export interface TokensInit {
  accessToken: string
  refreshToken?: string | null
  /** A Date or milliseconds since the epoch; missing means expired (refresh first). */
  expiresAt?: Date | number | null
  scope?: string | null
}
export declare class Tokens {
  accessToken: string
  refreshToken: string | null
  expiresAt: Date
  scope: string | null
}
export declare class OAuthApp {
  /** `host` points every endpoint elsewhere (e.g. a sandbox). */
  constructor(options: { clientId: string; clientSecret: string; redirectUri: string; host?: string })
  authorizationUrl(scopes: string[]): { url: string; state: string; codeVerifier: string }
  exchangeCode(code: string, codeVerifier: string): Promise<Tokens>
  /** Rejects with ReauthorizationRequired when the grant is gone. */
  refresh(refreshToken: string): Promise<Tokens>
  revoke(token: string): Promise<void>
}
export declare const oauth: { OAuthApp: typeof OAuthApp; Tokens: typeof Tokens }

/** Per-call options, as a trailing argument. */
export interface CallOptions {
  signal?: AbortSignal
  /** Seconds for the whole call, retries included (rejects with TimeoutError). */
  timeout?: number
}

export interface ListOptions {
  filter?: string
  sort?: string
  fields?: Record<string, string[]>
  include?: string[]
  pageSize?: number
  maxItems?: number
  maxPages?: number
  cursor?: string
  /** Seconds, per page request. */
  timeout?: number
  signal?: AbortSignal
}

/** A JSON:API resource: attributes at the top level, plus id, type, relationships, raw. */
export declare class Resource {
  id: string | null
  type: string | null
  relationships: Record<string, unknown>
  readonly raw: { id?: string; type?: string; attributes?: Record<string, unknown>; relationships?: Record<string, unknown>; links?: Record<string, unknown> }
  [attribute: string]: unknown
}

export interface ExportOptions {
  /** ISO 8601: where to start when there is no bookmark (default: everything). */
  since?: string
  /** A state file: where the export starts, and where its bookmark is kept once read to the end. */
  state?: string
  /** Slices read at once (default 32). */
  concurrency?: number
  /** Seconds behind now where the export stops (default 300). */
  safetyMargin?: number
  /** The metric id campaign and flow reports count conversions of (default: the account's "Placed Order"). */
  conversionMetric?: string
  /** Seconds a report stream re-reads before its bookmark (default 7 days: their numbers change for days). */
  lookback?: number
  /** Seconds the events stream re-reads before its bookmark, for events sent with a past time (default 0). */
  eventsLookback?: number
}
export interface ExportColumn {
  name: string
  kind: 'string' | 'integer' | 'number' | 'boolean' | 'timestamp' | 'json'
}
/** One stream's records as they are read: `for await` gives records (timestamps as Dates,
 * JSON columns as objects); `arrow()` gives the pieces of one Arrow IPC stream. */
export declare class Export implements AsyncIterable<Record<string, unknown>> {
  readonly stream: string
  readonly columns: ExportColumn[]
  /** The bookmark reached (ISO 8601) once read to the end, else null. */
  readonly bookmark: string | null
  [Symbol.asyncIterator](): AsyncIterator<Record<string, unknown>>
  arrow(): AsyncIterable<Buffer>
}
export declare class Pager implements AsyncIterable<Resource> {
  /** The cursor to resume from (`cursor:` in ListOptions), or null at the end. */
  readonly cursor: string | null
  pages(): AsyncGenerator<Resource[], void, undefined>
  [Symbol.asyncIterator](): AsyncGenerator<Resource, void, undefined>
  toArray(): Promise<Resource[]>
}

export interface BulkFailure { index: number; key: string | null; reason: string }
export interface JobRef { id: string | null; firstIndex: number; itemCount: number }
export interface BulkReport { jobs: JobRef[]; accepted: number; failures: BulkFailure[] }
export interface JobStatus { id: string; status: string; total: number | null; completed: number | null; failed: number | null; errors: unknown[]; raw: unknown }

export interface Identity { email?: string; phoneNumber?: string; externalId?: string; profileId?: string }
export interface EventInput extends Identity {
  metric: string
  properties?: Record<string, unknown>
  value?: number
  valueCurrency?: string
  /** ISO 8601. */
  time?: string
  /** De-duplication key; generated when absent. */
  uniqueId?: string
}
export interface ProfileInput { email?: string; phoneNumber?: string; externalId?: string; properties?: Record<string, unknown> }
export interface BulkOptions { wait?: boolean; timeout?: number; signal?: AbortSignal }

export interface Events {
  create(event: EventInput, options?: CallOptions): Promise<{ uniqueId: string }>
  bulkCreate(events: EventInput[], options?: CallOptions): Promise<BulkReport>
  get(id: string, options?: CallOptions): Promise<Resource>
  list(options?: ListOptions): Pager
}
export interface Profiles {
  create(profile: ProfileInput, options?: CallOptions): Promise<Resource>
  upsert(profile: ProfileInput, options?: CallOptions): Promise<Resource>
  get(id: string, options?: CallOptions): Promise<Resource>
  update(id: string, profile: ProfileInput, options?: CallOptions): Promise<Resource>
  list(options?: ListOptions): Pager
  bulkImport(profiles: Array<Record<string, unknown>>, options?: { listId?: string; signal?: AbortSignal }): Promise<BulkReport>
  importErrors(jobId: string): Pager
  subscribe(profiles: Array<string | Identity>, options?: { channel?: 'email' | 'sms'; listId?: string; signal?: AbortSignal }): Promise<BulkReport>
  unsubscribe(profiles: Array<string | Identity>, options?: { channel?: 'email' | 'sms'; listId?: string; signal?: AbortSignal }): Promise<BulkReport>
  suppress(emails: string[], options?: CallOptions): Promise<BulkReport>
  unsuppress(emails: string[], options?: CallOptions): Promise<BulkReport>
  merge(destination: string, sources: string[], options?: CallOptions): Promise<null>
}
export interface Lists {
  create(name: string, options?: CallOptions): Promise<Resource>
  get(id: string, options?: CallOptions): Promise<Resource>
  update(id: string, name: string, options?: CallOptions): Promise<Resource>
  delete(id: string, options?: CallOptions): Promise<null>
  list(options?: ListOptions): Pager
  profiles(listId: string, options?: ListOptions): Pager
  addProfiles(listId: string, profileIds: string[], options?: CallOptions): Promise<BulkReport>
  removeProfiles(listId: string, profileIds: string[], options?: CallOptions): Promise<BulkReport>
}
export interface Metrics {
  list(options?: ListOptions): Pager
  get(id: string, options?: CallOptions): Promise<Resource>
  aggregate(metricId: string, query: { start: string; end: string; measurements?: string[]; interval?: string; filters?: string[]; by?: string[]; timezone?: string }, options?: CallOptions): Promise<Record<string, unknown>>
}
export interface CatalogResource {
  create(attributes: Record<string, unknown>, options?: { relationships?: Record<string, unknown>; signal?: AbortSignal }): Promise<Resource>
  get(id: string, options?: CallOptions): Promise<Resource>
  update(id: string, attributes: Record<string, unknown>, options?: CallOptions): Promise<Resource>
  delete(id: string, options?: CallOptions): Promise<null>
  list(options?: ListOptions): Pager
  bulkCreate(resources: Array<Record<string, unknown>>, options?: BulkOptions): Promise<BulkReport>
  bulkUpdate(resources: Array<Record<string, unknown>>, options?: BulkOptions): Promise<BulkReport>
  bulkDelete(ids: string[], options?: BulkOptions): Promise<BulkReport>
}
export interface Webhooks {
  create(webhook: { name: string; endpointUrl: string; secretKey: string; topics: string[]; description?: string }, options?: CallOptions): Promise<Resource>
  get(id: string, options?: CallOptions): Promise<Resource>
  update(id: string, attributes: Record<string, unknown>, options?: CallOptions): Promise<Resource>
  delete(id: string, options?: CallOptions): Promise<null>
  list(options?: CallOptions): Promise<Resource[]>
  topics(options?: CallOptions): Promise<Resource[]>
}
export interface Accounts {
  current(options?: CallOptions): Promise<Resource>
  get(id: string, options?: CallOptions): Promise<Resource>
}
export interface ChangeCounts { create: number; update: number; delete: number; unchanged: number }
export interface SyncReport {
  dryRun: boolean
  records: number
  skipped: Array<{ location: string; record: number; externalId: string | null; reason: string }>
  plan: { categories: ChangeCounts; items: ChangeCounts; variants: ChangeCounts }
  created: number
  updated: number
  deleted: number
  unchanged: number
  failed: Array<{ kind: string; action: string; externalId: string; reason: string }>
  jobs: number
  writes: number
  reads: number
  planFile: string | null
}
export interface CatalogSyncOptions {
  /** Feed fields to catalog attributes: an object ({ external_id: 'sku', custom_metadata: ['brand'] }), a JSON file's path, or 'attribute=field' pairs. */
  mapping?: Record<string, string | string[]> | string
  /** csv, json, jsonl or google_xml when the file name does not say. */
  feedFormat?: string
  deleteMissing?: boolean
  dryRun?: boolean
  skipInvalid?: boolean
  force?: boolean
  /** The largest share of the catalog a sync may delete without force (default 0.1). */
  maxDeleteShare?: number
  concurrency?: number
  planOut?: string
  /** Apply a plan a dry run wrote (pass null as the feed). */
  applyPlan?: string
  lockDir?: string
  signal?: AbortSignal
}
export interface Catalogs {
  /** Syncs the catalog with a product feed (a file path or product objects): lint, plan, apply in bulk jobs. */
  sync(feed: string | Array<Record<string, unknown>> | null, options?: CatalogSyncOptions): Promise<SyncReport>
}
export interface DataPrivacy {
  deleteProfile(who: Identity, options?: CallOptions): Promise<null>
}
export interface Jobs {
  get(kind: string, id: string, options?: CallOptions): Promise<JobStatus>
  wait(kind: string, id: string, options?: { timeout?: number; signal?: AbortSignal }): Promise<JobStatus>
}

export interface TrackEvent {
  metric: string
  email?: string
  phoneNumber?: string
  externalId?: string
  profileId?: string
  properties?: Record<string, unknown>
  value?: number
  valueCurrency?: string
  time?: string | Date
  /** Assigned when absent, so resends never double-count. */
  uniqueId?: string
}
export interface TrackerStats { queued: number; sent: number; retried: number; failed: number; dropped: number; pending: number; lastError: string | null }
export interface TrackFailure { uniqueId: string; metric: string; code: string; reason: string }
export interface TrackerOptions {
  /** Events per bulk job (1..1000, default 1000). */
  flushAt?: number
  /** Seconds the oldest event may wait before a job goes (default 1). */
  flushInterval?: number
  /** Events held at most, sending included (default 100000). */
  maxQueue?: number
  /** Largest job body in bytes (default and maximum 5 MB). */
  maxBatchBytes?: number
  /** On a full queue: wait, throw QueueFullError, or drop and count. */
  whenFull?: 'block' | 'error' | 'drop'
  maxInFlight?: number
  /** Durable mode: events are written here before track() returns. */
  spoolDir?: string
  /** Shared mode (`redis://host:port/db`): events go to the account's Redis stream before
   * track() returns, and every process's tracker delivers from it. Not with spoolDir. */
  queue?: string
  /** Shared mode: seconds a dead sender's events wait before another claims them (default 30). */
  claimAfter?: number
  onError?: (failure: TrackFailure) => void
}
export declare class Tracker {
  /** Queues the event and returns its uniqueId; never waits for Klaviyo (with `queue`, one
   * round trip to Redis, at most 250 ms, adds it to the shared stream). */
  track(event: TrackEvent): string
  flush(options?: { timeout?: number }): Promise<boolean>
  close(options?: { timeout?: number }): Promise<TrackerStats>
  stats(): TrackerStats
  readonly closed: boolean
}

/** Namespaces with hand-written verbs beside their generated operations. */
type WithVerbs = 'events' | 'profiles' | 'lists' | 'metrics' | 'catalogs' | 'webhooks' | 'accounts' | 'dataPrivacy'
/** Every namespace of the spec (one per tag), with its generated operations. */
export interface Client extends Omit<ops.Namespaces, WithVerbs> {}
export declare class Client {
  constructor(options?: ClientOptions)
  /** A background event tracker, closed (flushed) on beforeExit. */
  tracker(options?: TrackerOptions): Tracker
  /** One stream's records as they are read (see Export). */
  export(stream: string, options?: ExportOptions): Export
  readonly events: Events & ops.EventsOperations
  readonly profiles: Profiles & ops.ProfilesOperations
  readonly lists: Lists & ops.ListsOperations
  readonly metrics: Metrics & ops.MetricsOperations
  readonly catalog: { readonly items: CatalogResource; readonly variants: CatalogResource; readonly categories: CatalogResource }
  readonly catalogs: Catalogs & ops.CatalogsOperations
  readonly webhooks: Webhooks & ops.WebhooksOperations
  readonly accounts: Accounts & ops.AccountsOperations
  readonly dataPrivacy: DataPrivacy & ops.DataPrivacyOperations
  readonly jobs: Jobs
  readonly baseUrl: string
  readonly revision: string
  readonly rateLimitStatus: { operation: string; headers: { limit: number | null; remaining: number | null; resetSeconds: number | null } } | null
  /** Any operation by operation id. */
  request(operationId: string, options?: { path?: Record<string, string>; query?: Record<string, string | number>; body?: unknown; timeout?: number; revision?: string; signal?: AbortSignal }): Promise<unknown>
}

export interface Delivery {
  webhookId: string
  accountId: string | null
  timestamp: string | null
  items: Array<{ topic: string; externalId: string | null; payload: unknown }>
}
/** Remembers deliveries already processed: true the first time a key is seen. */
export interface SeenStore { firstTime(key: string): boolean }
export declare class MemorySeenStore implements SeenStore {
  constructor(retentionSeconds?: number)
  firstTime(key: string): boolean
}
export interface VerifyOptions { secret: string | string[]; tolerance?: number; now?: number; timestampSource?: 'body' | 'header'; seen?: SeenStore }
type HeaderSource = Record<string, string | string[] | undefined> | Iterable<[string, string]> | { entries(): Iterable<[string, string]> }
export declare const webhooks: {
  verify(rawBody: Buffer | string, headers: HeaderSource, options: VerifyOptions): Delivery
  sign(body: Buffer | string, options: { secret: string; webhookId?: string; timestamp?: number }): Record<string, string>
  middleware(options: VerifyOptions): (req: any, res: any, next: (error?: unknown) => void) => void
  MemorySeenStore: typeof MemorySeenStore
}

export declare const DEFAULT_REVISION: string

export declare class KlaviyoError extends Error {
  /** Stable code, the same in Rust, Python and Node. */
  code: string
  status: number | null
  errors: Array<{ id?: string; code?: string; title?: string; detail?: string; source?: { pointer?: string; parameter?: string }; meta?: unknown }>
  requestId: string | null
  retryAfter: number | null
  /** The RateLimit-* headers of the failed response (null when none came back). */
  rateLimit: { limit: number | null; remaining: number | null; reset: number | null } | null
}
export declare class ValidationError extends KlaviyoError {}
export declare class InvalidInputError extends ValidationError {}
export declare class ConfigurationError extends KlaviyoError {}
export declare class AuthenticationError extends KlaviyoError {}
export declare class PermissionDeniedError extends KlaviyoError {}
export declare class NotFoundError extends KlaviyoError {}
export declare class ConflictError extends KlaviyoError {}
export declare class RateLimitError extends KlaviyoError {}
export declare class ServerError extends KlaviyoError {}
export declare class TimeoutError extends KlaviyoError {}
export declare class NetworkError extends KlaviyoError {}
export declare class DecodeError extends KlaviyoError {}
export declare class BulkPartialError extends KlaviyoError {
  failures: BulkFailure[]
  total: number
  accepted: number
}
export declare class WebhookVerificationError extends KlaviyoError {
  check: string
}
export declare class ReauthorizationRequired extends AuthenticationError {}
export declare class QueueFullError extends KlaviyoError {}
export declare class AbortError extends KlaviyoError {}
