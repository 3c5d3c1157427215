// Modules loaded at their first use, not when the CLI starts. The CLI is one bundle, so a static
// import is loaded (and evaluated) whenever the bundle is, used or not; these two are not needed
// by reads — the commands agents run most — and cost every start a few ms:
// - node:crypto (~2 ms): hashes and random bytes, for writes and SSH;
// - yaml (~3 ms; kept out of the bundle, see scripts/build.mjs): project and config files, which
//   launch, fork, modify, init and the host commands read, and reads never do.
import {createRequire} from 'node:module'

type NodeCrypto = typeof import('node:crypto')
type Yaml = typeof import('yaml')
const load = createRequire(import.meta.url)
let crypto: NodeCrypto | undefined
let yaml: Yaml | undefined

export function nodeCrypto(): NodeCrypto {
  return (crypto ??= load('node:crypto') as NodeCrypto)
}

export function yamlModule(): Yaml {
  return (yaml ??= load('yaml') as Yaml)
}
