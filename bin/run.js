#!/usr/bin/env node
// The autolab CLI. dist/cli.cjs is the esbuild bundle of src/ (`npm run build`).
//
// CommonJS (bin/package.json says so): an ES module entry costs every start Node's ESM loader,
// about 8 ms, for nothing here.
//
// The bundle is loaded through vm.Script with V8's code cache (dist/cli.cjs.v8cache): Node 20
// has no compile cache of its own, and compiling the 1 MB bundle is a large part of the start-up
// time every command pays. The module is registered in require's cache under its own path, so
// when oclif requires the same file for its commands it gets this instance. A missing or
// rejected cache (another Node version) is rebuilt after the command, written atomically;
// a read-only install just runs without it.
'use strict'
const {readFileSync, renameSync, writeFileSync} = require('node:fs')
const {Module, createRequire} = require('node:module')
const {dirname, join} = require('node:path')
const vm = require('node:vm')

const root = join(__dirname, '..')
const file = join(root, 'dist', 'cli.cjs')
const cacheFile = `${file}.v8cache`
let source
try {
  // latin1: the build makes the bundle pure ASCII, and decoding it as UTF-8 would cost ~3 ms.
  source = readFileSync(file, 'latin1')
} catch {
  process.stderr.write('autolab is not built: run `npm run build` (or `npm ci`, which builds) first.\n')
  process.exit(1)
}
let cachedData
try {
  cachedData = readFileSync(cacheFile)
} catch {
  cachedData = undefined
}
const script = new vm.Script(Module.wrap(source), {filename: file, cachedData})
const cli = new Module(file)
cli.filename = file
cli.paths = Module._nodeModulePaths(dirname(file))
Module._cache[file] = cli
script.runInThisContext()(cli.exports, createRequire(file), cli, file, dirname(file))
cli.loaded = true

// No user or dev plugins: autolab has none, and looking for them costs every start. No oclif
// theme either (it colours oclif's help only): reading ~/.config/autolab/theme.json would start
// the file system's thread pool in every command.
process.env.AUTOLAB_DISABLE_THEME ??= 'true'
cli.exports.execute({loadOptions: {root, userPlugins: false, devPlugins: false}}).then(() => {
  if (cachedData === undefined || script.cachedDataRejected) {
    try {
      const temp = `${cacheFile}.${process.pid}`
      writeFileSync(temp, script.createCachedData())
      renameSync(temp, cacheFile)
    } catch {
      // read-only install: run without the cache
    }
  }
}, (error) => {
  // The commands turn their own errors into envelopes; this is only for a fault of the CLI itself.
  process.stderr.write(`autolab: ${process.argv.includes('--debug') ? error?.stack ?? error : error?.message ?? error}\n`)
  process.exitCode = 1
})
