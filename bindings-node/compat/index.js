'use strict'
// klaviyo-bridge/compat: a drop-in for Klaviyo's official Node SDK (`klaviyo-api`). Change
//
//   const { ApiKeySession, ProfilesApi } = require('klaviyo-api')
// to
//   const { ApiKeySession, ProfilesApi } = require('klaviyo-bridge/compat')
//
// and the same code runs on klaviyo-bridge: every Api class and method of the official SDK
// for this revision by the same names (aliases included) and arguments, bodies camelCased as
// its ObjectSerializer writes and reads them (generated from the spec's schemas), results as
// `{ response, body }`, and failures that carry `error.response` (status, data) and are
// klaviyo-bridge's Error subclasses. Underneath: the core's rate limiter, retries, timeouts
// and pooled connections. The README's migration guide lists every difference.

const apis = require('./apis.js')
const enums = require('./enums.js')
const { BaseApi } = require('./api.js')
const sessions = require('./sessions.js')
const oauth = require('./oauth.js')
const { FilterBuilder } = require('./filter_builder.js')

const { RetryWithExponentialBackoff, ApiKeySession, OAuthBasicSession, GlobalApiKeySettings, GlobalApiKeySession, ConfigWrapper } = sessions
const { OAuthApi, OAuthSession, Pkce, KlaviyoTokenError, isKlaviyoTokenError, KlaviyoErrorName } = oauth

const Auth = Object.freeze({ ApiKeySession, GlobalApiKeySession, GlobalApiKeySettings, RetryWithExponentialBackoff, OAuthApi, OAuthBasicSession, OAuthSession, Pkce })

// The global instances (`Profiles`, `Events`, ...), on the key set by GlobalApiKeySettings.
const globals = {}
const klaviyo = { Auth }
for (const [name, Api] of Object.entries(apis)) {
  const instance = new Api(new GlobalApiKeySession())
  globals[name.replace(/Api$/, '')] = instance
  klaviyo[name] = Api
  klaviyo[name.replace(/Api$/, '')] = instance
}

module.exports = {
  ...apis,
  ...enums,
  ...globals,
  BaseApi,
  RetryWithExponentialBackoff,
  ApiKeySession,
  OAuthBasicSession,
  OAuthSession,
  OAuthApi,
  GlobalApiKeySettings,
  GlobalApiKeySession,
  ConfigWrapper,
  Pkce,
  KlaviyoTokenError,
  isKlaviyoTokenError,
  KlaviyoErrorName,
  FilterBuilder,
  Auth,
  Klaviyo: Object.freeze(klaviyo),
}
