// Hosts: the project file declares them (autolab.yaml `hosts:`), the store remembers them (runs
// refer to their host for ever, and a pinned host key lives there). A declared host is copied
// into the store when a command uses it, so the project file stays the one place to edit.
import type {Ctx} from '../context.js'
import {AutolabError} from '../output/errors.js'
import type {HostDecl} from '../project.js'
import type {Store} from '../store/open.js'
import type {HostRow} from '../store/schema.js'

/** The store's row for a host the project file declares, created or updated to match; call inside a write transaction. */
export function upsertDeclaredHost(store: Store, decl: HostDecl, now: Date): HostRow {
  const existing = store.first(store.db.selectFrom('hosts').selectAll().where('host_id', '=', decl.name))
  // gpus: auto keeps what `host check` discovered (the store's list).
  const gpus = decl.gpus === 'auto' ? (existing?.gpus ?? '[]') : JSON.stringify(decl.gpus)
  const root = decl.kind === 'local' ? '.' : decl.root!
  const address = decl.kind === 'ssh' ? decl.ssh! : null
  if (!existing) {
    store.run(store.db.insertInto('hosts').values({host_id: decl.name, kind: decl.kind, address, user: null, port: null, root, gpus, created_at: now.toISOString()}))
  } else if (existing.kind !== decl.kind || existing.address !== address || existing.root !== root || existing.gpus !== gpus) {
    store.run(store.db.updateTable('hosts').set({kind: decl.kind, address, root, gpus}).where('host_id', '=', decl.name))
  }
  return store.first(store.db.selectFrom('hosts').selectAll().where('host_id', '=', decl.name))!
}

/**
 * A host by name, for a command about to use it: the project file's declaration copied into the
 * store (see upsertDeclaredHost), or the store's row of a host no longer declared (its runs still
 * live there). HOST_NOT_FOUND lists the hosts there are.
 */
export function requireHost(ctx: Ctx, hostId: string): HostRow {
  const {store} = ctx
  const decl = ctx.project().hosts[hostId]
  if (decl) return store.write(() => upsertDeclaredHost(store, decl, ctx.now()))
  const row = store.first(store.db.selectFrom('hosts').selectAll().where('host_id', '=', hostId))
  if (row) return row
  const known = [...new Set([...Object.keys(ctx.project().hosts), ...store.all(store.db.selectFrom('hosts').select('host_id')).map((h) => h.host_id)])].sort()
  throw new AutolabError('HOST_NOT_FOUND', `No host "${hostId}" in the project file or the store.`, {
    details: {host: hostId, hosts: known}, suggestedAction: `Use one of: ${known.join(', ')}; or declare it with \`autolab host add ${hostId} --ssh USER@HOST --root /path\`.`,
  })
}

/** Every host a run could be placed on: the project file's, in its order, with `local` first when declared or when nothing else is. */
export function declaredHosts(ctx: Ctx): HostRow[] {
  const {store} = ctx
  const decls = Object.values(ctx.project().hosts)
  return store.write(() => decls.map((decl) => upsertDeclaredHost(store, decl, ctx.now())))
}
