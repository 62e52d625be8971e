'use strict'
// Starts klaviyo-sandbox processes on free 127.0.0.1 ports for the tests.
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const readline = require('node:readline')

const ROOT = path.resolve(__dirname, '..', '..')
const KEY = 'pk_sandbox_not_a_real_key_0000000000'

function binary(name) {
  const target = process.env.CARGO_TARGET_DIR ?? path.join(ROOT, 'target')
  const candidates = [path.join(target, process.env.CARGO_BUILD_TARGET ?? '', 'debug', name), path.join(target, 'debug', name)]
  const found = candidates.find((p) => fs.existsSync(p))
  if (!found) throw new Error(`${name} is not built: run make build`)
  return found
}

async function start(...args) {
  const child = spawn(binary('klaviyo-sandbox'), ['--port', '0', ...args], { stdio: ['ignore', 'pipe', 'ignore'] })
  const lines = readline.createInterface({ input: child.stdout })
  const url = await new Promise((resolve, reject) => {
    lines.once('line', resolve)
    child.once('exit', (code) => reject(new Error(`sandbox exited with ${code}`)))
  })
  const get = async (p) => (await fetch(`${url}${p}`)).json()
  return {
    url,
    key: KEY,
    state: () => get('/__sandbox/state'),
    requests: () => get('/__sandbox/requests'),
    /** The state once every bulk job is complete. */
    settled: () => get('/__sandbox/settled'),
    stop: () => child.kill(),
  }
}

module.exports = { start, binary, ROOT, KEY }
