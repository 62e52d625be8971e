#!/usr/bin/env node
// klaviyo-dev-tools: the same Rust code as the Rust binary and the Python console script.
const { runCli } = require('../native.js')
process.exitCode = runCli('dev-tools', ['klaviyo-dev-tools', ...process.argv.slice(2)])
