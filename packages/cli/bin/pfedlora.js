#!/usr/bin/env node
require('../dist/main.js').runCli(process.argv.slice(2)).then((code) => { process.exitCode = code; });
