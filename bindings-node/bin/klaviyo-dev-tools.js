#!/usr/bin/env node
// klaviyo-dev-tools (see ../lib/cli.js).
require('../lib/cli.js').runCli('dev-tools')
