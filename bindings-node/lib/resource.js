'use strict'
// A JSON:API resource as Node callers read it, and results shaped from the addon's
// `{resource}`, `{resources}` or `{value}` answers.

const util = require('node:util')

const RAW = Symbol('klaviyo.raw')

/** A JSON:API resource: attributes at the top level, then id, type, relationships; `raw` is
 * the untouched object (a prototype getter, so JSON.stringify and Object.keys skip it).
 * A class with Object.assign: 60x cheaper per item than spread + defineProperty. */
class Resource {
  constructor(raw) {
    Object.assign(this, raw.attributes)
    this.id = raw.id ?? null
    this.type = raw.type ?? null
    this.relationships = raw.relationships ?? {}
    this[RAW] = raw
  }
  get raw() {
    return this[RAW]
  }
  [util.inspect.custom](depth, options, inspect) {
    const { [RAW]: _, ...shown } = this
    return `Resource ${inspect(shown, options)}`
  }
}

const toResource = (raw) => new Resource(raw)

function shape(result) {
  if ('resource' in result) return toResource(result.resource)
  if ('resources' in result) return result.resources.map(toResource)
  return result.value
}

module.exports = { Resource, toResource, shape }
