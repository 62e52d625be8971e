'use strict'
// `client.export(stream, options)`: one stream's records by `for await` (timestamps as Dates,
// JSON columns as objects) and its Arrow IPC stream by `for await (const piece of export.arrow())`.

const { rethrow } = require('./errors.js')

class Export {
  #native
  #timestamps
  constructor(native) {
    this.#native = native
    this.#timestamps = native.columns.filter((c) => c.kind === 'timestamp').map((c) => c.name)
  }
  /** The stream's name. */
  get stream() {
    return this.#native.stream
  }
  /** `[{ name, kind }]`: kinds are string, integer, number, boolean, timestamp, json. */
  get columns() {
    return this.#native.columns
  }
  /** The bookmark reached (ISO 8601) once read to the end, else null: pass it as `since`. */
  get bookmark() {
    return this.#native.bookmark ?? null
  }
  async *[Symbol.asyncIterator]() {
    try {
      for (;;) {
        const body = await this.#native.nextRecordsRaw().catch(rethrow)
        if (body === null) return
        for (const record of JSON.parse(body.toString('utf8'))) {
          for (const name of this.#timestamps) {
            if (record[name] != null) record[name] = new Date(record[name])
          }
          yield record
        }
      }
    } finally {
      // A loop left early stops the reading and frees the state file at once.
      await this.#native.close()
    }
  }
  /** Pieces of one Arrow IPC stream (the schema first, the end marker last), for
   * apache-arrow: `await RecordBatchReader.from(export.arrow())`, or `tableFromIPC` of the
   * concatenated pieces. Read either the records or this, not both. */
  async *arrow() {
    try {
      for (;;) {
        const piece = await this.#native.nextIpc().catch(rethrow)
        if (piece === null) return
        yield piece
      }
    } finally {
      await this.#native.close()
    }
  }
}

module.exports = { Export }
