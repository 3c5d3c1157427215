// Build: type-check and emit dist/ with tsc (the SDK and the toy trainer are run from there),
// then bundle the CLI into one CommonJS file with esbuild, generate oclif's manifest from it
// (never by hand: a stale manifest hides new commands), and warm the V8 code cache that
// bin/run.js loads the bundle with. Start-up is what every agent action pays: module loading
// and compiling dominate it, and one bundle plus a code cache roughly halves it
// (`npm run bench` shows the figures).
import {execFileSync} from 'node:child_process'
import {cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {build} from 'esbuild'

const bin = (name) => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname
const run = (cmd, args, options = {}) => execFileSync(cmd, args, {stdio: 'inherit', ...options})

rmSync('dist', {recursive: true, force: true})
rmSync('oclif.manifest.json', {force: true})
run(bin('tsc'), ['-p', '.'])
// The Python examples are run from dist/examples like the compiled ones ({examples} in a recipe).
cpSync('examples/torch-mlp', 'dist/examples/torch-mlp', {recursive: true, filter: (src) => !/(__pycache__|\.pyc)$/.test(src)})
await build({
  entryPoints: ['src/cli.ts'],
  outfile: 'dist/cli.cjs',
  bundle: true,
  platform: 'node',
  // CommonJS, because Node 20 can cache compiled code only for scripts (vm.Script cachedData),
  // not for ES modules.
  format: 'cjs',
  target: 'node20',
  // Native or rarely needed: loaded from node_modules only when a command asks for them.
  // typescript: only oclif's development-mode loader wants it; never at run time.
  // better-sqlite3's JS is bundled (one file to load, compiled from the code cache); its addon is
  // loaded by path (store/access.ts sqliteBinding), and \`bindings\`, its fallback search, stays outside.
  // yaml: loaded from node_modules at its first use (src/lib/lazy-modules.ts); reads never need it.
  external: ['bindings', 'ssh2', 'cpu-features', 'typescript', 'yaml'],
  // oclif's debug logging is off in autolab: a no-op stands in for the package (see the stub).
  alias: {debug: './scripts/stubs/debug.cjs'},
  define: {'import.meta.url': '__autolab_import_meta_url'},
  banner: {js: "const __autolab_import_meta_url = require('node:url').pathToFileURL(__filename).href;"},
  logLevel: 'warning',
  legalComments: 'none',
  // Pure ASCII, so that bin/run.js reads it as latin1: decoding a megabyte of UTF-8 costs every
  // start ~3 ms more. esbuild escapes strings, but not the raw text of template literals (a tagged
  // one's .raw would change), so those are lowered to strings; what is left is checked below.
  charset: 'ascii',
  supported: {'template-literal': false},
  // Smaller source: less to read and hash against the code cache at every start. keepNames: oclif and error messages use class names.
  minify: process.env.AUTOLAB_BUILD_UNMINIFIED !== '1',
  keepNames: true,
})
// The last non-ASCII characters can only be inside regular expression literals (ansis has one),
// where \uXXXX means the same character.
const bundle = readFileSync('dist/cli.cjs', 'utf8')
const ascii = bundle.replace(/[^\x00-\x7f]/g, (c) => {
  if (c.length !== 1) throw new Error(`dist/cli.cjs: a character outside the BMP (${JSON.stringify(c)}) cannot be escaped safely`)
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
})
if (ascii !== bundle) writeFileSync('dist/cli.cjs', ascii)
run(bin('oclif'), ['manifest'])
// Warm the code cache with a representative command (bin/run.js writes it when missing).
const scratch = mkdtempSync(join(tmpdir(), 'autolab-build-'))
try {
  // Only init creates a store; the cache it leaves is dropped, so that `runs` writes it.
  const cli = (args) => run(process.execPath, ['bin/run.js', ...args, '--json', '--store', join(scratch, 'autolab.db')], {stdio: 'ignore', env: {...process.env, AUTOLAB_PROJECT: ''}})
  cli(['init', '--no-project'])
  rmSync('dist/cli.cjs.v8cache', {force: true})
  cli(['runs'])
} finally {
  rmSync(scratch, {recursive: true, force: true})
}
