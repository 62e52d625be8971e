'use strict'
// The official SDK's FilterBuilder, built by klaviyo-bridge's core filter: values are quoted
// and escaped there (a quote or backslash inside a string cannot end it early), dates are
// sent bare as ISO date-times, and every method returns the builder.

const native = require('../lib/addon.js')
const { rethrow } = require('../lib/errors.js')

const SCALAR = ['boolean', 'number', 'string', 'Date']

function kind(value) {
  return value instanceof Date ? 'Date' : typeof value
}

function operand(value) {
  if (value instanceof Date) return { dateTime: value.toISOString() }
  if (Array.isArray(value)) return value.map(operand)
  return value
}

class FilterBuilder {
  constructor() {
    this.filters = []
  }
  #add(operator, field, value, allowed, { list = false, listOnly = false } = {}) {
    if (typeof field !== 'string') throw new TypeError('field must be a string')
    if (listOnly && !Array.isArray(value)) throw new TypeError('value must be an array')
    if (Array.isArray(value) && (list || listOnly)) {
      if (value.length === 0) throw new TypeError('value cannot be an empty list')
      if (new Set(value.map(kind)).size > 1) throw new TypeError('All items in value must be of the same type')
      if (!allowed.includes(kind(value[0]))) throw new TypeError(`Items in value must be one of the following types: ${allowed.join(', ')}`)
    } else if (!allowed.includes(kind(value))) {
      throw new TypeError(`value must be one of the following types: ${allowed.join(', ')}`)
    }
    // Rendered now, as the official builder keeps its conditions: a list of strings.
    try {
      this.filters.push(native.filterExpression([[operator, field, operand(value)]]))
    } catch (error) {
      rethrow(error)
    }
    return this
  }
  equals(field, value) {
    return this.#add('equals', field, value, SCALAR, { list: true })
  }
  lessThan(field, value) {
    return this.#add('less-than', field, value, ['number', 'Date'])
  }
  lessOrEqual(field, value) {
    return this.#add('less-or-equal', field, value, ['number', 'Date'])
  }
  greaterThan(field, value) {
    return this.#add('greater-than', field, value, ['number', 'Date'])
  }
  greaterOrEqual(field, value) {
    return this.#add('greater-or-equal', field, value, ['number', 'Date'])
  }
  contains(field, value) {
    return this.#add('contains', field, value, ['string'], { list: true })
  }
  containsAny(field, value) {
    return this.#add('contains-any', field, value, ['string'], { list: true })
  }
  containsAll(field, value) {
    return this.#add('contains-all', field, value, ['string'], { list: true })
  }
  endsWith(field, value) {
    return this.#add('ends-with', field, value, ['string'])
  }
  startsWith(field, value) {
    return this.#add('starts-with', field, value, ['string'])
  }
  any(field, value) {
    return this.#add('any', field, value, SCALAR, { listOnly: true })
  }
  has(field) {
    if (typeof field !== 'string') throw new TypeError('field must be a string')
    this.filters.push(`has(${field})`)
    return this
  }
  /** The conditions, AND-joined, as the `filter` option takes them. */
  build() {
    return this.filters.join(',')
  }
}

module.exports = { FilterBuilder }
