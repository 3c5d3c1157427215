// Editing `hosts:` of a project file keeps everything else as the person wrote it.
import {describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {editedText} from '../../src/lib/project-edit.js'

const FILE = `# autolab project: lab box and the cluster
hosts:
  # the box under the desk
  local:
    gpus: [0, 1]   # two 4090s
  old: {ssh: me@old-box, root: /srv/old}   # retired soon
# recipes below
recipes:
  toy: {
      command: "{node} {examples}/toy-rl/train.js",
      gpus: 0
    }
`

const a100 = {name: 'a100', kind: 'ssh' as const, ssh: 'me@a100.lab:2222', root: '/data/autolab', gpus: ['0', '1', '2', '3']}

describe('editedText', () => {
  it('adds a host after the last one, keeping every other line byte for byte', () => {
    const text = editedText(FILE, {add: a100}, 'autolab.yaml')
    expect(text).toBe(FILE.replace('# recipes below\n', '  a100:\n    kind: ssh\n    ssh: me@a100.lab:2222\n    root: /data/autolab\n    gpus: [0, 1, 2, 3]\n# recipes below\n'))
    expect(parse(text).hosts.a100).toEqual({kind: 'ssh', ssh: 'me@a100.lab:2222', root: '/data/autolab', gpus: [0, 1, 2, 3]})
  })

  it('adds a hosts section to a file without one, and `gpus: auto`', () => {
    const file = '# only recipes\nrecipes:\n  toy: {command: "{node} x"}'
    const text = editedText(file, {add: {...a100, gpus: 'auto'}}, 'autolab.yaml')
    expect(text).toBe(`${file}\nhosts:\n  a100:\n    kind: ssh\n    ssh: me@a100.lab:2222\n    root: /data/autolab\n    gpus: auto\n`)
  })

  it('removes one host with its own line comment, and the hosts key with the last host', () => {
    const once = editedText(FILE, {remove: 'old'}, 'autolab.yaml')
    expect(once).toBe(FILE.replace('  old: {ssh: me@old-box, root: /srv/old}   # retired soon\n', ''))
    const twice = editedText(once, {remove: 'local'}, 'autolab.yaml')
    expect(twice).toBe('# autolab project: lab box and the cluster\n# recipes below\nrecipes:\n' + FILE.split('recipes:\n')[1])
    expect(parse(twice).hosts).toBeUndefined()
  })

  it('falls back to the re-rendered document for a flow-style hosts mapping, comments kept', () => {
    const file = '# top comment\nhosts: {local: {gpus: [0]}}\nrecipes:\n  toy: {command: x}   # the toy\n'
    const text = editedText(file, {add: a100}, 'autolab.yaml')
    expect(text).toContain('# top comment')
    expect(text).toContain('# the toy')
    expect(parse(text).hosts).toEqual({local: {gpus: [0]}, a100: {kind: 'ssh', ssh: 'me@a100.lab:2222', root: '/data/autolab', gpus: [0, 1, 2, 3]}})
  })
})
