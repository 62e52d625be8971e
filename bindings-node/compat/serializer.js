'use strict'
// Bodies as the official SDK's ObjectSerializer writes and reads them, by the generated schema
// table (schemas.js): requests from camelCase to the names on the wire, `Date`s as ISO
// strings; responses from the wire to camelCase, date-times as `Date`s. Free-form objects
// (custom properties) pass as they are; so does a value that does not fit its schema.

const SCHEMAS = require('./schemas.js')

const AS_IS = 0
const DATE = 1

// Fields the official SDK would drop unseen: warned about once per schema and name.
const warned = new Set()

function unknownField(schema, name) {
  const key = `${schema}\0${name}`
  if (warned.has(key)) return
  warned.add(key)
  process.emitWarning(`klaviyo-bridge/compat: ${JSON.stringify(name)} is not a field of ${schema}; it was not sent (the official SDK drops it too)`, { code: 'KLAVIYO_COMPAT_UNKNOWN_FIELD' })
}

function isObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date)
}

/** A request value of `type` with the wire's names. */
function toWire(value, type) {
  if (value == null || type === AS_IS) return value
  if (type === DATE) return value instanceof Date ? value.toISOString() : value
  if (Array.isArray(type)) return Array.isArray(value) ? value.map((item) => toWire(item, type[0])) : value
  if (!isObject(value)) return value
  const entry = SCHEMAS[type]
  if (entry.byType !== undefined) {
    const variant = entry.byType[value.type]
    return variant === undefined ? value : toWire(value, variant)
  }
  const out = {}
  let used = 0
  for (let i = 0; i < entry.length; i++) {
    const [wire, camel, held] = entry[i]
    // The camelCase name, as the official SDK takes it; the wire's name is taken too.
    let given = value[camel]
    if (given === undefined && wire !== camel) given = value[wire]
    if (given === undefined) continue
    used++
    out[wire] = toWire(given, held)
  }
  if (used < Object.keys(value).length) {
    const known = new Set(entry.flatMap(([wire, camel]) => [wire, camel]))
    for (const name of Object.keys(value)) if (!known.has(name) && value[name] !== undefined) unknownField(type, name)
  }
  return out
}

/** A response value of `type` with camelCase names, date-times as `Date`s. */
function fromWire(value, type) {
  if (value == null || type === AS_IS) return value
  if (type === DATE) return typeof value === 'string' ? new Date(value) : value
  if (Array.isArray(type)) {
    if (!Array.isArray(value)) return value
    const inner = type[0]
    const out = new Array(value.length)
    for (let i = 0; i < value.length; i++) out[i] = fromWire(value[i], inner)
    return out
  }
  if (!isObject(value)) return value
  const entry = SCHEMAS[type]
  if (entry.byType !== undefined) {
    const variant = entry.byType[value.type]
    return variant === undefined ? value : fromWire(value, variant)
  }
  const out = {}
  for (let i = 0; i < entry.length; i++) {
    const property = entry[i]
    const given = value[property[0]]
    if (given !== undefined) out[property[1]] = fromWire(given, property[2])
  }
  return out
}

module.exports = { toWire, fromWire }
