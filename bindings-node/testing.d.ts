// A local Klaviyo for tests, run inside the installed package.
import type { Client, ClientOptions } from './index'

export interface SandboxOptions {
  apiKey?: string
  /** 'real' (the spec's limits, default), 'off', or 'scale=N'. */
  rateLimits?: string
  /** Seconds added to every response. */
  latency?: number
  /** e.g. '429:0.05,500:0.02,reset:0.01', drawn with `seed`. */
  faults?: string
  seed?: number
  /** Deterministic profiles (seed0@example.com, …) made at start. */
  seedProfiles?: number
  /** Deterministic events over five metrics and the year before 2026, made at start. */
  seedEvents?: number
  /** 'demo': a ready-made account (profiles with consent, lists, catalog, six months of events,
   * sent campaigns with engagement, a flow, templates, a segment, coupons). */
  seedData?: 'demo'
  /** How many of the latest requests `requests()` keeps (default 5,000). */
  requestLog?: number
}

export interface SandboxState {
  profiles: number
  events: number
  metrics: number
  lists: number
  events_per_metric: Record<string, number>
  [key: string]: unknown
}

export interface LoggedRequest {
  method: string
  uri: string
  operation: string | null
  headers: Record<string, string>
  status: number
}

export declare class Sandbox {
  readonly url: string
  readonly apiKey: string
  /** The account's public key (`company_id` of the `/client/*` operations). */
  readonly publicKey: string
  /** A request body for the operation that fits its schema; null if it takes none. */
  exampleBody(operationId: string): Record<string, unknown> | null
  client(options?: Omit<ClientOptions, 'sandbox'>): Client
  state(): Promise<SandboxState>
  settled(): Promise<SandboxState>
  requests(): Promise<LoggedRequest[]>
  reset(): Promise<void>
  issueToken(): Promise<string>
  stop(): Promise<void>
}

export declare function start(options?: SandboxOptions): Promise<Sandbox>
