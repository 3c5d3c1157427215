// node:crypto, loaded at its first use. Most commands — every read — never hash or draw random
// bytes, and loading the module costs every start ~2 ms: the CLI is one bundle, so a static import
// would load it whenever the bundle is evaluated, used or not.
import {createRequire} from 'node:module'

type NodeCrypto = typeof import('node:crypto')
let loaded: NodeCrypto | undefined

export function nodeCrypto(): NodeCrypto {
  return (loaded ??= createRequire(import.meta.url)('node:crypto') as NodeCrypto)
}
