// Editing the project file's `hosts:` (host add / host remove) without disturbing the rest: the
// person who wrote autolab.yaml keeps their comments, order and layout. The edit is made twice:
// on the yaml Document (parseDocument + setIn/deleteIn: always right, comments kept, but the
// whole file re-rendered — a flow mapping written over several lines comes back on one), and as
// a splice of just the host's lines into the original text. The splice is used when it parses to
// exactly what the Document says; otherwise the re-rendered Document is. Either way the result
// is parsed with parseProject before it replaces the file (temp + rename, never through a
// symlink), and a file changed by someone else meanwhile is CONFLICT, not overwritten.
import {readFileSync} from 'node:fs'
import {isDeepStrictEqual} from 'node:util'
import type {Document, Pair, ParsedNode, YAMLMap} from 'yaml'
import {yamlModule} from './lazy-modules.js'
import {AutolabError} from './output/errors.js'
import {type HostDecl, type Project, parseProject} from './project.js'
import {readInputFile} from './input-file.js'
import {checkOutputPath, writeFileAtomically} from './safe-path.js'

export type HostEdit = {add: HostDecl} | {remove: string}

const RENDER = {flowCollectionPadding: false, lineWidth: 0} as const

/** Apply the edit to the project file; returns the project as the new file declares it. */
export async function editProjectHosts(file: string, edit: HostEdit, storePath: string): Promise<Project> {
  // The same gate as every file autolab writes: no symlink, no FIFO, never the store.
  const target = checkOutputPath(file, {flag: 'project file', storePath, allowStdout: false})
  if (target.kind !== 'file') throw new AutolabError('INTERNAL', 'project file resolved to stdout')
  const original = readInputFile(target.path, 'Project file')
  const text = editedText(original, edit, target.path)
  const project = parseProject(text, target.path)
  await writeFileAtomically(target.path, (write) => {
    // Compare-and-swap: another writer between our read and this rename would be lost.
    if (readFileSync(target.path, 'utf8') !== original) {
      throw new AutolabError('CONFLICT', `${target.path} was changed by another process while it was being edited; nothing was written.`, {
        retryable: true, suggestedAction: 'Retry the command: it re-reads the file.', details: {file: target.path},
      })
    }
    write(text)
  })
  return project
}

/** The new text of the file: the splice when it is exactly right, else the re-rendered Document. */
export function editedText(original: string, edit: HostEdit, file: string): string {
  const doc = yamlModule().parseDocument(original)
  if (doc.errors.length > 0) throw new AutolabError('INVALID_CONFIG', `${file}: not valid YAML: ${doc.errors[0].message}`, {details: {file}})
  if ('add' in edit) doc.setIn(['hosts', edit.add.name], hostNode(doc, edit.add))
  else {
    doc.deleteIn(['hosts', edit.remove])
    // An empty `hosts:` is null, which the project file does not allow: drop the key.
    const hosts = doc.get('hosts')
    if (yamlModule().isMap(hosts) && hosts.items.length === 0) doc.delete('hosts')
  }
  const expected = doc.toJS()
  const spliced = splice(original, edit)
  if (spliced !== null) {
    const check = yamlModule().parseDocument(spliced)
    if (check.errors.length === 0 && isDeepStrictEqual(check.toJS(), expected)) return spliced
  }
  return doc.toString(RENDER)
}

/** A host's mapping as a person would write it: GPU ids as a flow list, numbers unquoted. */
function hostNode(doc: Document, decl: HostDecl) {
  const gpus = decl.gpus === 'auto' ? 'auto' : decl.gpus.map((g) => (/^(0|[1-9]\d{0,8})$/.test(g) ? Number(g) : g))
  const node = doc.createNode({kind: decl.kind, ssh: decl.ssh, root: decl.root, gpus}) as YAMLMap
  const list = node.get('gpus', true)
  if (yamlModule().isSeq(list)) list.flow = true
  return node
}

/** The text edit on the original lines; null when the file's shape is not the plain block layout it knows. */
function splice(original: string, edit: HostEdit): string | null {
  const doc = yamlModule().parseDocument(original)
  const top = doc.contents
  if (!yamlModule().isMap(top) || top.flow) return null
  const hostsPair = top.items.find((p) => yamlModule().isScalar(p.key) && p.key.value === 'hosts') as Pair<ParsedNode, ParsedNode | null> | undefined
  if ('add' in edit) {
    const entry = renderEntry(edit.add)
    if (!hostsPair) {
      const base = original.length === 0 || original.endsWith('\n') ? original : `${original}\n`
      return `${base}hosts:\n${indent(entry, 2)}`
    }
    const hosts = hostsPair.value
    if (!yamlModule().isMap(hosts) || hosts.flow || hosts.items.length === 0 || !hosts.range) return null
    const firstKey = hosts.items[0].key as ParsedNode
    const column = firstKey.range[0] - lineStart(original, firstKey.range[0])
    const at = hosts.range[2]
    const before = original.slice(0, at)
    return `${before}${before.endsWith('\n') ? '' : '\n'}${indent(entry, column)}${original.slice(at)}`
  }
  if (!hostsPair) return null
  const hosts = hostsPair.value
  if (!yamlModule().isMap(hosts) || hosts.flow || !hosts.range) return null
  const item = hosts.items.find((p) => yamlModule().isScalar(p.key) && p.key.value === edit.remove) as Pair<ParsedNode, ParsedNode | null> | undefined
  if (!item) return null
  // The last host takes the `hosts:` key with it (an empty mapping would be null).
  const [from, to] = hosts.items.length === 1
    ? [lineStart(original, (hostsPair.key as ParsedNode).range[0]), hosts.range[2]]
    : [lineStart(original, item.key.range[0]), (item.value ?? item.key).range[2]]
  return original.slice(0, from) + original.slice(endOfLine(original, to))
}

/** Past what is left of the line at `offset` when that is only blanks or a comment (the removed entry's). */
function endOfLine(text: string, offset: number): number {
  if (offset > 0 && text[offset - 1] === '\n') return offset
  const match = /^[ \t]*(#[^\n]*)?(\n|$)/.exec(text.slice(offset))
  return match ? offset + match[0].length : offset
}

function renderEntry(decl: HostDecl): string {
  const doc = new (yamlModule().Document)({})
  doc.set(decl.name, hostNode(doc, decl))
  return doc.toString(RENDER)
}

function indent(text: string, columns: number): string {
  const pad = ' '.repeat(columns)
  return text.split('\n').map((line) => (line === '' ? line : pad + line)).join('\n')
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1
}
