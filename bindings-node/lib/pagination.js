'use strict'
// The pager of every paginated call: `for await`, `.pages()`, `.toArray()`, `.cursor`.

const { rethrow } = require('./errors.js')
const { toResource } = require('./resource.js')
const { withSignal } = require('./cancel.js')

/** Iterates a list operation: `for await (const item of pager)`, `pager.pages()`. */
class Pager {
  #native
  #signal
  constructor(nativePager, signal) {
    this.#native = nativePager
    this.#signal = signal
  }
  /** The cursor to resume from (`cursor:` in the list options), or null at the end. */
  get cursor() {
    return this.#native.cursor ?? null
  }
  /** The pages, each an array of resources. */
  async *pages() {
    for (;;) {
      const body = await withSignal(this.#signal, (id) => this.#native.nextPageRaw(id)).catch(rethrow)
      if (body === null) return
      // Invalid UTF-8 decodes to U+FFFD, as the API's own text would in any decoder.
      yield JSON.parse(body.toString('utf8')).data.map(toResource)
    }
  }
  async *[Symbol.asyncIterator]() {
    for await (const page of this.pages()) yield* page
  }
  /** Every item, collected (mind memory on large lists). */
  async toArray() {
    const items = []
    for await (const item of this) items.push(item)
    return items
  }
}

module.exports = { Pager }
