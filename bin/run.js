#!/usr/bin/env node
// The autolab CLI. dist/cli.js is the esbuild bundle of src/ (run `npm run build`).
import {execute} from '../dist/cli.js'

await execute({dir: import.meta.url})
