'use strict'
// klaviyo-bridge for Node: a thin layer over the native addon, one file per concept under
// lib/ (errors, resource, cancel, pagination, export, resources, oauth, tracker, webhooks,
// client),
// beside the generated operations.js. It converts values, maps errors, shapes results and
// wires AbortSignal; rate limiting, retries, pagination and the rest happen in the Rust core.

const native = require('./lib/addon.js')
const errors = require('./lib/errors.js')
const { Client } = require('./lib/client.js')
const { Pager } = require('./lib/pagination.js')
const { Export } = require('./lib/export.js')
const { Resource } = require('./lib/resource.js')
const { Tracker } = require('./lib/tracker.js')
const { webhooks } = require('./lib/webhooks.js')
const { OAuthApp, Tokens } = require('./lib/oauth.js')

const { convert, rethrow: _rethrow, ...errorClasses } = errors

// For klaviyo-bridge/testing: native errors become the same Error subclasses everywhere.
Object.defineProperty(module.exports, Symbol.for('klaviyo-bridge.convertError'), { value: convert })

Object.assign(module.exports, {
  Client,
  Pager,
  Export,
  Resource,
  Tracker,
  webhooks,
  oauth: { OAuthApp, Tokens },
  DEFAULT_REVISION: native.defaultRevision(),
  ...errorClasses,
})
