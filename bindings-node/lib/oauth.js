'use strict'
// OAuth: the app (authorize URL with PKCE, code exchange, refresh, revoke) and its tokens.

const util = require('node:util')
const native = require('./addon.js')
const { ConfigurationError, rethrow } = require('./errors.js')

const NATIVE_APP = Symbol('klaviyo.nativeOAuthApp')

/** OAuth tokens: `expiresAt` is a Date. util.inspect shows no secret; JSON.stringify keeps
 * everything (for your token store). */
class Tokens {
  constructor({ accessToken, refreshToken = null, expiresAt = 0, scope = null }) {
    this.accessToken = accessToken
    this.refreshToken = refreshToken
    this.expiresAt = expiresAt instanceof Date ? expiresAt : new Date(expiresAt)
    this.scope = scope
  }
  [util.inspect.custom]() {
    return `Tokens { expiresAt: ${this.expiresAt.toISOString()}, scope: ${JSON.stringify(this.scope)} }`
  }
}

function toNativeTokens(tokens) {
  if (tokens == null || typeof tokens.accessToken !== 'string') {
    throw new ConfigurationError({ code: 'config_error', message: 'oauth.tokens needs at least { accessToken } (and refreshToken, expiresAt to refresh)' })
  }
  const expiresAt = tokens.expiresAt == null ? 0 : tokens.expiresAt instanceof Date ? tokens.expiresAt.getTime() : Number(tokens.expiresAt)
  return { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken ?? undefined, expiresAt, scope: tokens.scope ?? undefined }
}

function fromNativeTokens(t) {
  return new Tokens({ accessToken: t.accessToken, refreshToken: t.refreshToken ?? null, expiresAt: t.expiresAt, scope: t.scope ?? null })
}

/** An OAuth app (authorize URL with PKCE, code exchange, refresh, revoke). */
class OAuthApp {
  constructor({ clientId, clientSecret, redirectUri, host } = {}) {
    try {
      this[NATIVE_APP] = new native.NativeOAuthApp(clientId, clientSecret, redirectUri, host ?? undefined)
    } catch (error) {
      rethrow(error)
    }
  }
  /** `{ url, state, codeVerifier }`: send the user to `url`; keep the rest. */
  authorizationUrl(scopes) {
    try {
      return this[NATIVE_APP].authorizationUrl([...scopes])
    } catch (error) {
      rethrow(error)
    }
  }
  exchangeCode(code, codeVerifier) {
    return this[NATIVE_APP].exchangeCode(code, codeVerifier).then(fromNativeTokens, rethrow)
  }
  refresh(refreshToken) {
    return this[NATIVE_APP].refresh(refreshToken).then(fromNativeTokens, rethrow)
  }
  revoke(token) {
    return this[NATIVE_APP].revoke(token).then(() => undefined, rethrow)
  }
  [util.inspect.custom]() {
    return this[NATIVE_APP].describe()
  }
}

module.exports = { NATIVE_APP, Tokens, OAuthApp, toNativeTokens, fromNativeTokens }
