'use strict'
// The hand-written verbs (create, list, upsert, bulk helpers...) of each namespace, routed to
// the addon's dispatch, and the generated operations they sit beside.

const { InvalidInputError, rethrow } = require('./errors.js')
const { shape } = require('./resource.js')
const { withSignal, takeOptions, takeSignal } = require('./cancel.js')
const { Pager } = require('./pagination.js')

// Methods that return a Pager (paginated operations), per namespace.
const PAGERS = {
  events: ['list'],
  profiles: ['list', 'importErrors'],
  lists: ['list', 'profiles'],
  metrics: ['list'],
  'catalog.items': ['list'],
  'catalog.variants': ['list'],
  'catalog.categories': ['list'],
}

function namespace(client, name) {
  const pagers = new Set(PAGERS[name] ?? [])
  // One function per method, made on first use: not a new closure on every call.
  const methods = new Map()
  return new Proxy(Object.create(null), {
    get(_, method) {
      if (typeof method !== 'string' || method === 'then') return undefined
      let fn = methods.get(method)
      if (fn === undefined) {
        fn = verb(client, name, method, pagers.has(method))
        methods.set(method, fn)
      }
      return fn
    },
  })
}

/** The function behind `namespace.method`. */
function verb(client, name, method, isPager) {
  if (isPager) {
    // A pager's `timeout` is per page and stays in its list options; only `signal` is taken.
    return (...raw) => {
      const { signal, args } = takeSignal(raw)
      try {
        return new Pager(client.pager(name, method, args), signal)
      } catch (error) {
        rethrow(error)
      }
    }
  }
  return (...raw) => {
    const { signal, timeout, args } = takeOptions(raw)
    return withSignal(signal, (id) => client.dispatch(name, method, args, id, timeout)).then(shape, rethrow)
  }
}

/** What the generated namespaces (operations.js) call: options in, shaped results out. */
function operationCaller(n) {
  const split = (operationId, given, options) => {
    if (options != null && (typeof options !== 'object' || Array.isArray(options))) {
      throw new InvalidInputError({ code: 'invalid_input', message: `${operationId}: the last argument is an options object, not ${Array.isArray(options) ? 'an array' : typeof options}` })
    }
    const { signal, ...args } = options ?? {}
    return { signal, args: Object.assign(args, given) }
  }
  return {
    call(operationId, given, options) {
      let parts
      try {
        parts = split(operationId, given, options)
      } catch (error) {
        return Promise.reject(error)
      }
      return withSignal(parts.signal, (id) => n.call(operationId, parts.args, id)).then(shape, rethrow)
    },
    pager(operationId, given, options) {
      const { signal, args } = split(operationId, given, options)
      try {
        return new Pager(n.operationPager(operationId, args), signal)
      } catch (error) {
        rethrow(error)
      }
    },
  }
}

// Namespaces whose hand-written verbs (create, list, upsert, bulk helpers...) sit beside the
// generated operations; a verb is looked up only when no operation has the name.
const HAND_VERBS = new Set(['events', 'profiles', 'lists', 'metrics', 'catalogs', 'webhooks', 'accounts', 'dataPrivacy'])

function withVerbs(operations, verbs) {
  return new Proxy(operations, {
    get(target, key) {
      return key in target ? target[key] : verbs[key]
    },
  })
}

module.exports = { namespace, operationCaller, HAND_VERBS, withVerbs }
