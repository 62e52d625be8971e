// Types of klaviyo-bridge/compat: the official Node SDK's surface on klaviyo-bridge.

import { BaseApi, Session } from './api'
import * as apis from './apis'

export * from './apis'
export * from './enums'
export { BaseApi, CompatResponse, CompatResult, Session } from './api'

export declare class RetryWithExponentialBackoff {
  /** `numRetries`: retries after the first attempt (default 3); `maxInterval`: the longest
   * wait in seconds (60); `retryCodes`: statuses worth retrying (429, 503, 504, 524). */
  constructor(config?: { retryCodes?: number[]; numRetries?: number; maxInterval?: number })
  retryCodes: number[]
  numRetries: number
  maxInterval: number
}

export declare class ApiKeySession implements Session {
  /** `apiKey`: KLAVIYO_API_KEY from the environment when not given. */
  constructor(apiKey?: string, retryWithExponentialBackoff?: RetryWithExponentialBackoff)
  apiKey: string | undefined
  retryWithExponentialBackoff: RetryWithExponentialBackoff
}

export declare class OAuthBasicSession implements Session {
  constructor(accessToken: string, retryWithExponentialBackoff?: RetryWithExponentialBackoff)
  accessToken: string
  retryWithExponentialBackoff: RetryWithExponentialBackoff
}

export interface RetrievedTokens { accessToken: string; refreshToken: string; expiresAt?: Date }
export interface CreatedTokens { accessToken: string; refreshToken: string; expiresAt: Date }
export interface TokenStorage {
  retrieve(customerIdentifier: string): Promise<RetrievedTokens> | RetrievedTokens
  save(customerIdentifier: string, tokens: CreatedTokens): Promise<void> | void
}

export declare class OAuthApi {
  constructor(clientId: string, clientSecret: string, tokenStorage: TokenStorage)
  readonly clientId: string
  readonly tokenStorage: TokenStorage
  /** The token endpoint (default `https://a.klaviyo.com/oauth/token`); every OAuth endpoint follows its host. */
  tokenUrl: string
  generateAuthorizeUrl(state: string, scopes: string, codeChallenge: string, redirectUrl: string): string
  createTokens(customerIdentifier: string, codeVerifier: string, authorizationCode: string, redirectUrl: string): Promise<CreatedTokens>
  refreshTokens(customerIdentifier: string, refreshToken?: string): Promise<CreatedTokens>
}

export declare class OAuthSession implements Session {
  constructor(customerIdentifier: string, oAuthApi: OAuthApi, retryWithExponentialBackoff?: RetryWithExponentialBackoff)
  customerIdentifier: string
  oAuthApi: OAuthApi
}

export declare class GlobalApiKeySettings {
  static apiKey: string | undefined
  static retryWithExponentialBackoff: RetryWithExponentialBackoff
  constructor(apiKey: string, retryWithExponentialBackoff?: RetryWithExponentialBackoff)
}
export declare class GlobalApiKeySession implements Session {}
export declare function ConfigWrapper(apiKey: string, opts?: { retryCodes?: number[]; numRetries?: number; maxInterval?: number }): ApiKeySession

export declare const KlaviyoErrorName: { readonly saveError: 'SAVE_TOKEN_ERROR'; readonly createError: 'CREATE_TOKEN_ERROR'; readonly retrieveError: 'RETRIEVE_TOKEN_ERROR'; readonly refreshError: 'REFRESH_TOKEN_ERROR' }
export declare class KlaviyoTokenError extends Error {
  constructor(name: string, message: string, cause?: unknown)
  readonly cause: unknown
}
export declare function isKlaviyoTokenError(error: unknown): error is KlaviyoTokenError

export declare namespace Pkce {
  interface Codes { codeVerifier: string; codeChallenge: string }
  function generateCodes(): Codes
}

type FilterScalar = boolean | number | string | Date
export declare class FilterBuilder {
  equals(field: string, value: FilterScalar | FilterScalar[]): this
  lessThan(field: string, value: number | Date): this
  lessOrEqual(field: string, value: number | Date): this
  greaterThan(field: string, value: number | Date): this
  greaterOrEqual(field: string, value: number | Date): this
  contains(field: string, value: string | string[]): this
  containsAny(field: string, value: string[]): this
  containsAll(field: string, value: string[]): this
  endsWith(field: string, value: string): this
  startsWith(field: string, value: string): this
  any(field: string, value: FilterScalar[]): this
  has(field: string): this
  build(): string
}

export declare const Auth: { ApiKeySession: typeof ApiKeySession; GlobalApiKeySession: typeof GlobalApiKeySession; GlobalApiKeySettings: typeof GlobalApiKeySettings; RetryWithExponentialBackoff: typeof RetryWithExponentialBackoff; OAuthApi: typeof OAuthApi; OAuthBasicSession: typeof OAuthBasicSession; OAuthSession: typeof OAuthSession; Pkce: typeof Pkce }

export declare const Accounts: apis.AccountsApi
export declare const Campaigns: apis.CampaignsApi
export declare const Catalogs: apis.CatalogsApi
export declare const Client: apis.ClientApi
export declare const Conversations: apis.ConversationsApi
export declare const Coupons: apis.CouponsApi
export declare const CustomObjects: apis.CustomObjectsApi
export declare const DataPrivacy: apis.DataPrivacyApi
export declare const Events: apis.EventsApi
export declare const Flows: apis.FlowsApi
export declare const Forms: apis.FormsApi
export declare const Images: apis.ImagesApi
export declare const Lists: apis.ListsApi
export declare const Metrics: apis.MetricsApi
export declare const Profiles: apis.ProfilesApi
export declare const Reporting: apis.ReportingApi
export declare const Reviews: apis.ReviewsApi
export declare const Segments: apis.SegmentsApi
export declare const Tags: apis.TagsApi
export declare const Templates: apis.TemplatesApi
export declare const TrackingSettings: apis.TrackingSettingsApi
export declare const WebFeeds: apis.WebFeedsApi
export declare const Webhooks: apis.WebhooksApi
export declare const Klaviyo: typeof apis & { Auth: typeof Auth } & { [instance: string]: unknown }
