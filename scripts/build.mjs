// Build: type-check and emit dist/ with tsc (the SDK and the toy trainer are loaded from there),
// then bundle the CLI into one file with esbuild (start-up cost is dominated by module loading;
// one bundle halves it), then let oclif generate its manifest from the bundle. The manifest is
// never written by hand: a stale one hides new commands.
import {execFileSync} from 'node:child_process'
import {rmSync} from 'node:fs'
import {build} from 'esbuild'

const bin = (name) => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname
const run = (cmd, args) => execFileSync(cmd, args, {stdio: 'inherit'})

rmSync('dist', {recursive: true, force: true})
rmSync('oclif.manifest.json', {force: true})
run(bin('tsc'), ['-p', '.'])
await build({
  entryPoints: ['src/cli.ts'],
  outfile: 'dist/cli.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Native or rarely needed: loaded from node_modules only when a command asks for them.
  // typescript: only oclif's development-mode loader wants it; never at run time.
  external: ['better-sqlite3', 'ssh2', 'cpu-features', 'typescript'],
  // Bundled CommonJS dependencies call require(); give the ESM bundle one.
  banner: {js: "import {createRequire as __autolabCreateRequire} from 'node:module'; const require = __autolabCreateRequire(import.meta.url);"},
  logLevel: 'warning',
  legalComments: 'none',
})
run(bin('oclif'), ['manifest'])
