// Crash recovery: an operation row left `started` by a process that no longer exists is rolled
// back. Runs at the start of every command (one indexed query when there is nothing to do).
import {readFileSync} from 'node:fs'
import type {Ctx} from '../context.js'
import {isHostFault} from '../output/errors.js'
import {openOperations} from './journal.js'
import {rollbackOperation} from './rollback.js'

/** A process with this pid exists (EPERM: it exists but is not ours to signal). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * The pid still belongs to an autolab process. Pids are reused: a live process that is not
 * Node (autolab always is) cannot be the operation's owner. Without /proc, existence decides.
 */
function ownerAlive(pid: number): boolean {
  if (!processExists(pid)) return false
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    // An empty command line is a zombie or a kernel thread: not an owner either.
    return cmdline !== '' && /node/.test(cmdline.split('\0')[0])
  } catch {
    return true
  }
}

/** After a rollback failed because its host could not be reached, the next attempt waits this long. */
export const HOST_RETRY_MS = 60_000
const RETRY_PREFIX = 'host unreachable; retry after '

export async function recoverAbandonedOperations(ctx: Ctx): Promise<string[]> {
  const recovered: string[] = []
  for (const op of openOperations(ctx.store)) {
    if (op.pid === process.pid || ownerAlive(op.pid)) continue
    // Its host was down at the last attempt: every command would otherwise wait on it again.
    const retryAt = op.error?.startsWith(RETRY_PREFIX) ? Date.parse(op.error.slice(RETRY_PREFIX.length)) : Number.NaN
    if (retryAt > ctx.now().getTime()) {
      ctx.warnings.push(`an interrupted ${op.kind} (operation ${op.op_id}) waits for its host; retried after ${new Date(retryAt).toISOString()}`)
      continue
    }
    try {
      if (await rollbackOperation(ctx, op.op_id, new Error(`the autolab process (pid ${op.pid}) died during ${op.kind}`))) {
        recovered.push(op.op_id)
        ctx.warnings.push(`rolled back an interrupted ${op.kind} (operation ${op.op_id})`)
      }
    } catch (error) {
      // Never let one stuck operation block every command: report it; doctor shows it too.
      ctx.warnings.push(`could not roll back ${op.kind} operation ${op.op_id}: ${(error as Error).message}`)
      if (isHostFault(error)) {
        const next = new Date(ctx.now().getTime() + HOST_RETRY_MS).toISOString()
        ctx.store.write(() => ctx.store.run(ctx.store.db.updateTable('operations').set({error: `${RETRY_PREFIX}${next}`}).where('op_id', '=', op.op_id).where('state', '=', 'started')))
      }
    }
  }
  return recovered
}
