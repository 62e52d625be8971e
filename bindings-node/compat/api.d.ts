// Types of compat/api.js: what every official-style Api class shares.

/** The HTTP response, read as the official SDK's (axios) response. */
export interface CompatResponse {
  status: number
  statusText: string
  /** Lower-case header names. */
  headers: Record<string, string>
  /** The body as JSON, with the wire's (snake_case) names. */
  readonly data: any
}

/** What every method resolves to: the response and the body with camelCase names and
 * date-times as `Date`s (`undefined` for operations that answer no body). */
export interface CompatResult {
  response: CompatResponse
  body: any
}

/** A session: ApiKeySession, OAuthBasicSession, OAuthSession or GlobalApiKeySession. */
export interface Session {}

export declare class BaseApi {
  constructor(session: Session)
  session: Session
  /** Default `https://a.klaviyo.com` (no `/api`). */
  basePath: string
  defaultHeaders: Record<string, string>
}
