'use strict'
// A redis-server for the tests on a free 127.0.0.1 port (Debian's redis-server package; the
// Makefile installs it when missing), started again on the same port after a stop.
const { spawn } = require('node:child_process')
const net = require('node:net')
const readline = require('node:readline')

async function freePort() {
  const server = net.createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Starts redis-server. `dir` keeps its data there with every write synced (appendfsync
 * always), so a killed server loses nothing it acknowledged; without it, nothing persists. */
async function startRedis({ port, dir } = {}) {
  port ??= await freePort()
  const persistence = dir ? ['--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''] : ['--save', '', '--appendonly', 'no']
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', ...persistence], { stdio: ['ignore', 'pipe', 'ignore'] })
  // It says when it listens; reading its log is the wait.
  await new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout })
    lines.on('line', (line) => line.includes('Ready to accept connections') && resolve())
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code} (install Debian's redis-server)`)))
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    /** Stops it at once, as a crash would (SIGKILL), and resolves once it is gone. */
    kill: () => (child.kill('SIGKILL'), exited),
    stop: () => child.kill(),
  }
}

module.exports = { startRedis, freePort }
