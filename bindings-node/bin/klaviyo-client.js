#!/usr/bin/env node
// klaviyo-client: the same Rust code as the Rust binary and the Python console script.
const { runCli } = require('../native.js')
process.exitCode = runCli('client', ['klaviyo-client', ...process.argv.slice(2)])
