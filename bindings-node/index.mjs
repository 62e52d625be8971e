// ES module entry: the same objects as the CommonJS entry.
import cjs from './index.js'

export const {
  Client,
  Pager,
  Export,
  Resource,
  Tracker,
  webhooks,
  oauth,
  DEFAULT_REVISION,
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
} = cjs
export default cjs
