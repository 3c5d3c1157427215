// One connection, several session shells (as the mux runs them): probes running at the same
// time on sessions of one connection each read exactly their own answer — every run's delta, no
// scratch file shared between sessions.
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {SshConnection} from '../../src/lib/hosts/ssh-connection.js'
import {resolveSshTarget} from '../../src/lib/hosts/ssh-target.js'
import {SshExecutor} from '../../src/lib/hosts/ssh.js'
import {type SshClientSide, sshClient} from '../helpers/sshd.js'

let client: SshClientSide
const root = mkdtempSync(join(tmpdir(), 'autolab-sessions-'))

beforeAll(async () => {
  client = sshClient()
  await client.addServer('sessions')
})
afterAll(async () => {
  await client?.cleanup()
  rmSync(root, {recursive: true, force: true})
})

it('eight probes of 100 runs at once over four session shells each get every delta', async () => {
  const connection = await SshConnection.connect(resolveSshTarget('sessions', {configFile: client.configFile}), {pinnedKey: null, hostId: 'sessions', maxSessions: 4})
  try {
    const executor = new SshExecutor('sessions', root, async () => connection)
    const requests = Array.from({length: 100}, (_, i) => {
      const runDir = executor.runDir(`p${i}`)
      mkdirSync(runDir, {recursive: true})
      writeFileSync(join(runDir, 'metrics.jsonl'), `{"step":${i}}\n`)
      return {runId: `p${i}`, runDir, pid: null, offsets: {}}
    })
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(Array.from({length: 8}, () => executor.probe(requests)))
      for (const probes of answers) {
        expect(probes.map((p) => p.deltas['metrics.jsonl']?.toString())).toEqual(requests.map((_, i) => `{"step":${i}}\n`))
      }
    }
  } finally {
    connection.close()
  }
})
