'use strict'
// The npm bins: the same Rust code as the Rust binaries and the Python console scripts.
function runCli(program) {
  let addon
  try {
    addon = require('./addon.js')
  } catch (error) {
    console.error(error.message) // one line: what is missing and what to run
    process.exit(1)
  }
  process.exitCode = addon.runCli(program, [`klaviyo-${program}`, ...process.argv.slice(2)])
}

module.exports = { runCli }
