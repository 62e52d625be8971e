#!/usr/bin/env node
// klaviyo-client (see ../lib/cli.js).
require('../lib/cli.js').runCli('client')
