'use strict'
// The official SDK's OAuth: OAuthApi (authorize URL, code exchange and refresh, each saved to
// your TokenStorage), OAuthSession (a customer's tokens from that storage, refreshed by the
// core before they expire and once after a 401, one refresh at a time), Pkce and
// KlaviyoTokenError.

const native = require('../lib/addon.js')
const { nativeOptions } = require('../lib/client.js')
const { rethrow, convert } = require('../lib/errors.js')
const { toNativeTokens } = require('../lib/oauth.js')
const { BaseSession } = require('./sessions.js')

const KlaviyoErrorName = Object.freeze({ saveError: 'SAVE_TOKEN_ERROR', createError: 'CREATE_TOKEN_ERROR', retrieveError: 'RETRIEVE_TOKEN_ERROR', refreshError: 'REFRESH_TOKEN_ERROR' })

/** A failed token step: `name` says which (KlaviyoErrorName), `cause` holds the error. */
class KlaviyoTokenError extends Error {
  constructor(name, message, cause) {
    super(message, { cause })
    this.name = name
    this.cause = cause
  }
}

function isKlaviyoTokenError(error) {
  return error != null && Object.values(KlaviyoErrorName).includes(error.name)
}

const DEFAULT_TOKEN_URL = 'https://a.klaviyo.com/oauth/token'
const DEFAULT_AUTHORIZE_URL = 'https://klaviyo.com/oauth/authorize'
// Refreshing needs no redirect URI; the core's app wants one.
const NO_REDIRECT = 'http://127.0.0.1/'

/** Tokens as the official SDK hands them to TokenStorage.save. */
function createdTokens(tokens) {
  return { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken ?? undefined, expiresAt: new Date(tokens.expiresAt) }
}

async function step(name, fallback, run) {
  try {
    return await run()
  } catch (error) {
    if (isKlaviyoTokenError(error)) throw error
    const converted = convert(error)
    throw new KlaviyoTokenError(name, converted?.message || fallback, converted)
  }
}

class OAuthApi {
  constructor(clientId, clientSecret, tokenStorage) {
    this.clientId = clientId
    Object.defineProperty(this, 'clientSecret', { value: clientSecret, enumerable: false })
    this.tokenStorage = tokenStorage
    this.tokenUrl = DEFAULT_TOKEN_URL
    this.authorizeUrl = DEFAULT_AUTHORIZE_URL
  }
  /** The core's app; its endpoints follow `tokenUrl` when it was pointed elsewhere. */
  nativeApp(redirectUrl = NO_REDIRECT) {
    const host = this.tokenUrl === DEFAULT_TOKEN_URL ? undefined : new URL(this.tokenUrl).origin
    try {
      return new native.NativeOAuthApp(this.clientId, this.clientSecret, redirectUrl, host)
    } catch (error) {
      rethrow(error)
    }
  }
  generateAuthorizeUrl(state, scopes, codeChallenge, redirectUrl) {
    try {
      return this.nativeApp(redirectUrl).authorizationUrlFor(Array.isArray(scopes) ? scopes.join(' ') : scopes, state, codeChallenge)
    } catch (error) {
      rethrow(error)
    }
  }
  async createTokens(customerIdentifier, codeVerifier, authorizationCode, redirectUrl) {
    const tokens = await step(KlaviyoErrorName.createError, 'Failed to create token', async () => createdTokens(await this.nativeApp(redirectUrl).exchangeCode(authorizationCode, codeVerifier)))
    return this.saveTokens(customerIdentifier, tokens)
  }
  async refreshTokens(customerIdentifier, refreshToken) {
    if (refreshToken == null) {
      refreshToken = await step(KlaviyoErrorName.retrieveError, 'Failed to get refresh token', async () => (await this.tokenStorage.retrieve(customerIdentifier)).refreshToken)
    }
    const tokens = await step(KlaviyoErrorName.refreshError, 'Failed to refresh token', async () => createdTokens(await this.nativeApp().refresh(refreshToken)))
    return this.saveTokens(customerIdentifier, tokens)
  }
  async saveTokens(customerIdentifier, tokens) {
    await step(KlaviyoErrorName.saveError, 'Failed to save token', () => this.tokenStorage.save(customerIdentifier, tokens))
    return tokens
  }
}

/** A customer's tokens from the OAuthApi's TokenStorage: read once per base path, then
 * refreshed by the core 30 s before they expire and once after a 401; each new set is saved
 * to the storage. */
class OAuthSession extends BaseSession {
  constructor(customerIdentifier, oAuthApi, retryWithExponentialBackoff) {
    super(retryWithExponentialBackoff)
    this.customerIdentifier = customerIdentifier
    this.oAuthApi = oAuthApi
  }
  async makeClient(basePath, publicKey) {
    const api = this.oAuthApi
    const stored = await api.tokenStorage.retrieve(this.customerIdentifier)
    const options = nativeOptions({ ...this.retryWithExponentialBackoff.clientOptions() })
    if (basePath !== undefined) options.baseUrl = basePath
    if (publicKey != null) options.publicKey = publicKey
    const save = async (tokens) => {
      await api.tokenStorage.save(this.customerIdentifier, createdTokens(tokens))
    }
    try {
      return native.NativeClient.withOauth(options, api.nativeApp(), toNativeTokens(stored), save, 30)
    } catch (error) {
      rethrow(error)
    }
  }
}

const Pkce = Object.freeze({
  /** A fresh PKCE verifier and its S256 challenge. */
  generateCodes() {
    return native.pkceCodes()
  },
})

module.exports = { OAuthApi, OAuthSession, Pkce, KlaviyoTokenError, isKlaviyoTokenError, KlaviyoErrorName }
