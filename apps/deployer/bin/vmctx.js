#!/usr/bin/env node
// The `vmctx` command. A committed shim, so that npm links it at install time even before the first build.
import '../dist/main.js';
