'use strict'
// The error classes. The core names the class of each of its errors (`Error::class_name`)
// and sends its fields (`Error::details`) as the JSON payload of the addon's error message.

class KlaviyoError extends Error {
  constructor(info) {
    super(info.message)
    this.name = new.target.name
    this.code = info.code
    this.status = info.status ?? null
    this.errors = info.errors ?? []
    this.requestId = info.requestId ?? null
    this.retryAfter = info.retryAfter ?? null
    this.rateLimit = info.rateLimit ?? null
  }
}
class ValidationError extends KlaviyoError {}
class InvalidInputError extends ValidationError {}
class ConfigurationError extends KlaviyoError {}
class AuthenticationError extends KlaviyoError {}
class PermissionDeniedError extends KlaviyoError {}
class NotFoundError extends KlaviyoError {}
class ConflictError extends KlaviyoError {}
class RateLimitError extends KlaviyoError {}
class ServerError extends KlaviyoError {}
class TimeoutError extends KlaviyoError {}
class NetworkError extends KlaviyoError {}
class DecodeError extends KlaviyoError {}
class BulkPartialError extends KlaviyoError {
  constructor(info) {
    super(info)
    this.failures = info.failures ?? []
    this.total = info.total ?? 0
    this.accepted = info.accepted ?? 0
  }
}
class WebhookVerificationError extends KlaviyoError {
  constructor(info) {
    super(info)
    this.check = info.check ?? ''
  }
}
/** The OAuth grant is gone (refresh answered invalid_grant): authorize the app again. */
class ReauthorizationRequired extends AuthenticationError {}
/** The tracker's queue is full (whenFull "error"): the event was not queued. */
class QueueFullError extends KlaviyoError {}
/** The call was aborted through its AbortSignal (name "AbortError", code "ABORT_ERR"). */
class AbortError extends KlaviyoError {
  constructor(info) {
    super(info)
    this.name = 'AbortError'
    this.code = 'ABORT_ERR'
  }
}

// The class of each core error is named by the core (`Error::class_name`).
const ERROR_CLASSES = {
  KlaviyoError,
  ValidationError,
  InvalidInputError,
  ConfigurationError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  ConflictError,
  RateLimitError,
  ServerError,
  TimeoutError,
  NetworkError,
  DecodeError,
  BulkPartialError,
  WebhookVerificationError,
  ReauthorizationRequired,
  QueueFullError,
  AbortError,
}

/** The addon's `{"klaviyo": {...}}` payload as the matching Error subclass. */
function convert(error) {
  if (!(error instanceof Error)) return error
  // The addon refusing an argument it cannot read as JSON (a BigInt, a function, a cycle).
  if (error.code === 'InvalidArg' && !error.message.startsWith('{"klaviyo":')) {
    return new InvalidInputError({ code: 'invalid_input', message: `an argument is not JSON: ${error.message} (send numbers, strings, booleans, null, arrays and plain objects)` })
  }
  if (!error.message.startsWith('{"klaviyo":')) return error
  let info
  try {
    info = JSON.parse(error.message).klaviyo
  } catch {
    return error
  }
  const Class = ERROR_CLASSES[info.class] ?? KlaviyoError
  return new Class(info)
}

function rethrow(error) {
  throw convert(error)
}

module.exports = { ...ERROR_CLASSES, convert, rethrow }
