'use strict'
// The compiled addon. When it is missing (a clone or git install that was not built), the
// error is one line that says what to run, not a stack of loader internals.
function load() {
  try {
    return require('../native.js')
  } catch (cause) {
    const message = `klaviyo-bridge: the native addon for ${process.platform}-${process.arch} is not built; ` +
      'run `npm run build` in the klaviyo-bridge package directory (it needs Rust: https://rustup.rs)'
    const error = new Error(message, { cause })
    error.code = 'KLAVIYO_BRIDGE_ADDON_MISSING'
    error.stack = message // printed as is when uncaught
    throw error
  }
}

module.exports = load()
