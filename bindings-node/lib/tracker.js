'use strict'
// The background event tracker.

const util = require('node:util')
const { InvalidInputError, rethrow } = require('./errors.js')

// Trackers not yet closed; each is closed (flushed) when the event loop empties.
const openTrackers = new Set()
let exitHookInstalled = false

function closeTrackersBeforeExit() {
  for (const ref of openTrackers) {
    const tracker = ref.deref()
    openTrackers.delete(ref)
    if (tracker && !tracker.closed) {
      tracker.close().catch((error) => process.emitWarning(`klaviyo-bridge: tracker not fully flushed before exit: ${error.message}`))
    }
  }
}

/** Batches events into bulk jobs in the background: `track()` queues and returns at once. */
class Tracker {
  #native
  constructor(nativeTracker) {
    this.#native = nativeTracker
    openTrackers.add(new WeakRef(this))
    if (!exitHookInstalled) {
      exitHookInstalled = true
      process.on('beforeExit', closeTrackersBeforeExit)
    }
  }
  /** Queues one event (`{ metric, email | phoneNumber | externalId | profileId, properties,
   * value, valueCurrency, time, uniqueId }`); returns its uniqueId. */
  track(event) {
    const time = event?.time instanceof Date ? event.time.toISOString() : event?.time
    try {
      return this.#native.track(time === undefined ? event : { ...event, time })
    } catch (error) {
      rethrow(error)
    }
  }
  /** Resolves to true once everything tracked so far is settled (false at `timeout` seconds). */
  flush({ timeout } = {}) {
    return this.#native.flush(timeout).catch(rethrow)
  }
  /** Stops accepting events and waits (default 30 s); resolves to the final stats. */
  close({ timeout } = {}) {
    return this.#native.close(timeout).then((s) => ({ ...s, lastError: s.lastError ?? null }), rethrow)
  }
  /** Counters: queued, sent, retried, failed, dropped, pending, lastError. */
  stats() {
    const s = this.#native.stats()
    return { ...s, lastError: s.lastError ?? null }
  }
  get closed() {
    return this.#native.closed
  }
  [util.inspect.custom]() {
    const s = this.stats()
    return `Tracker { queued: ${s.queued}, sent: ${s.sent}, pending: ${s.pending}, failed: ${s.failed} }`
  }
}

const TRACKER_OPTIONS = ['flushAt', 'flushInterval', 'maxQueue', 'maxBatchBytes', 'whenFull', 'maxInFlight', 'spoolDir', 'queue', 'claimAfter', 'onError']

module.exports = { Tracker, TRACKER_OPTIONS }
