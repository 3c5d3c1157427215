#!/usr/bin/env node
// The autolab CLI. dist/cli.cjs is the esbuild bundle of src/ (`npm run build`).
//
// The bundle is loaded through vm.Script with V8's code cache (dist/cli.cjs.v8cache): Node 20
// has no compile cache of its own, and compiling the 1.5 MB bundle is a third of the start-up
// time every command pays. The module is registered in require's cache under its own path, so
// when oclif requires the same file for its commands it gets this instance. A missing or
// rejected cache (another Node version) is rebuilt after the command, written atomically;
// a read-only install just runs without it.
import {readFileSync, renameSync, writeFileSync} from 'node:fs'
import {Module, createRequire} from 'node:module'
import {dirname} from 'node:path'
import {fileURLToPath} from 'node:url'
import vm from 'node:vm'

const file = fileURLToPath(new URL('../dist/cli.cjs', import.meta.url))
const cacheFile = `${file}.v8cache`
let source
try {
  source = readFileSync(file, 'utf8')
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

// No user or dev plugins: autolab has none, and looking for them costs every start.
await cli.exports.execute({loadOptions: {root: fileURLToPath(new URL('..', import.meta.url)), userPlugins: false, devPlugins: false}})

if (cachedData === undefined || script.cachedDataRejected) {
  try {
    const temp = `${cacheFile}.${process.pid}`
    writeFileSync(temp, script.createCachedData())
    renameSync(temp, cacheFile)
  } catch {
    // read-only install: run without the cache
  }
}
