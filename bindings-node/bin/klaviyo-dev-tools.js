#!/usr/bin/env node
// klaviyo-dev-tools: the same Rust code as the Rust binary and the Python console script.
let addon
try {
  addon = require('../lib/addon.js')
} catch (error) {
  console.error(error.message) // one line: what is missing and what to run
  process.exit(1)
}
process.exitCode = addon.runCli('dev-tools', ['klaviyo-dev-tools', ...process.argv.slice(2)])
