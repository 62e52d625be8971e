'use strict'
// The official SDK's OAuth: OAuthApi (authorize URL, code exchange and refresh, each saved to
// your TokenStorage), OAuthSession (a customer's tokens from that storage, refreshed by the
// core before they expire and once after a 401, one refresh at a time), Pkce and
// KlaviyoTokenError.

const native = require('../lib/addon.js')
const { nativeOptions } = require('../lib/client.js')
const { rethrow, convert, ReauthorizationRequired } = require('../lib/errors.js')
const { toNativeTokens } = require('../lib/oauth.js')
const { BaseSession, FAILED } = require('./sessions.js')

// A TokenStorage.save that failed while the core refreshed, for the call's error to name.
const SAVE_FAILED = Symbol('klaviyo.compat.saveFailed')
// Stored tokens without an expiry are used until a 401 asks for a refresh, as there.
const NO_EXPIRY = new Date(8.64e15)

const KlaviyoErrorName = Object.freeze({ saveError: 'SAVE_TOKEN_ERROR', createError: 'CREATE_TOKEN_ERROR', retrieveError: 'RETRIEVE_TOKEN_ERROR', refreshError: 'REFRESH_TOKEN_ERROR' })

/** A failed token step: `name` says which (KlaviyoErrorName), `cause` holds the error. */
class KlaviyoTokenError extends Error {
  constructor(name, message, cause) {
    super(message, { cause })
    this.name = name
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
    let stored = await api.tokenStorage.retrieve(this.customerIdentifier)
    // As the official session: no access token yet, so refresh first.
    if (!stored?.accessToken) stored = await api.refreshTokens(this.customerIdentifier, stored?.refreshToken)
    const options = nativeOptions({ ...this.retryWithExponentialBackoff.clientOptions() })
    if (basePath !== undefined) options.baseUrl = basePath
    if (publicKey != null) options.publicKey = publicKey
    const save = async (tokens) => {
      try {
        await api.tokenStorage.save(this.customerIdentifier, createdTokens(tokens))
      } catch (error) {
        this[SAVE_FAILED] = error
        throw error
      }
    }
    try {
      return native.NativeClient.withOauth(options, api.nativeApp(), toNativeTokens({ ...stored, expiresAt: stored.expiresAt ?? NO_EXPIRY }), save, 30)
    } catch (error) {
      rethrow(error)
    }
  }
  /** A refresh that failed during a call is a KlaviyoTokenError, as there; its tokens are
   * forgotten, so the next call reads the TokenStorage again (a new grant saved there). */
  [FAILED](error) {
    const saveFailure = this[SAVE_FAILED]
    if (saveFailure !== undefined) {
      this[SAVE_FAILED] = undefined
      this.forgetClients()
      return new KlaviyoTokenError(KlaviyoErrorName.saveError, saveFailure?.message || 'Failed to save token', saveFailure)
    }
    if (error instanceof ReauthorizationRequired) {
      this.forgetClients()
      return new KlaviyoTokenError(KlaviyoErrorName.refreshError, error.message || 'Failed to refresh token', error)
    }
    return error
  }
}

const Pkce = Object.freeze({
  /** A fresh PKCE verifier and its S256 challenge. */
  generateCodes() {
    return native.pkceCodes()
  },
})

module.exports = { OAuthApi, OAuthSession, Pkce, KlaviyoTokenError, isKlaviyoTokenError, KlaviyoErrorName }
