// Placeholders meet the shell: a project directory and a store directory named like a command
// substitution. Unquoted placeholders reach the trainer as the literal paths and run nothing; a
// quoted placeholder (which would undo autolab's quoting) is INVALID_CONFIG before anything starts.
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {createStore, expectError, expectOk, waitFor} from '../helpers/cli.js'
import {useSandboxes} from '../helpers/sandbox.js'

const sandbox = useSandboxes()

/** Every file under dir that a `touch PWNED…` of the hostile names would have created. */
function pwnedUnder(dir: string): string[] {
  return readdirSync(dir, {recursive: true, encoding: 'utf8'}).filter((p) => /^PWNED\d?$/.test(p.split('/').at(-1)!))
}

function hostileSetup() {
  const sb = sandbox()
  const projectDir = join(sb.dir, 'proj $(touch PWNED) x')
  const storeDir = join(sb.dir, "store '`touch PWNED2`' $(touch PWNED3) y")
  mkdirSync(projectDir)
  mkdirSync(storeDir)
  const store = join(storeDir, 'autolab.db')
  createStore(store, {cwd: projectDir})
  // Runs in the project dir, with a store of our own: the run dir is <storeDir>/runs/<id>.
  const cli = (args: string[]) => sb.run([...args, '--json', '--store', store], {store: false, cwd: projectDir})
  return {sb, projectDir, storeDir, store, cli}
}

describe('placeholders in a hostile project directory', () => {
  it('unquoted {project_dir}, {run_dir} and {config} reach the command as literal paths; nothing else runs', async () => {
    const {sb, projectDir, storeDir, cli} = hostileSetup()
    const command = 'echo {project_dir} > {run_dir}/project_dir.txt; printf %s {run_dir} > {run_dir}/run_dir.txt; cat {config} > {run_dir}/config_copy.json; echo \\"{project_dir}\\" > {run_dir}/escaped.txt'
    writeFileSync(join(projectDir, 'autolab.yaml'), `recipes:\n  hostile:\n    command: ${JSON.stringify(command)}\n    config: {answer: 42}\n`)
    const run = expectOk(await cli(['launch', '--recipe', 'hostile', '--project', join(projectDir, 'autolab.yaml'), '--reason', 'hostile paths']))
    const runDir = join(storeDir, 'runs', run.run_id)
    expect(run.run_dir).toBe(runDir)
    sb.mayHaveRuns = true
    const exitCode = await waitFor(() => existsSync(join(runDir, 'exit_code')) && readFileSync(join(runDir, 'exit_code'), 'utf8').trim(), {timeoutMs: 20_000, message: 'the exit_code of the hostile run'})
    expect(Number(exitCode), readFileSync(join(runDir, 'stderr.log'), 'utf8')).toBe(0)
    expect(readFileSync(join(runDir, 'project_dir.txt'), 'utf8')).toBe(`${projectDir}\n`)
    expect(readFileSync(join(runDir, 'run_dir.txt'), 'utf8')).toBe(runDir)
    expect(readFileSync(join(runDir, 'escaped.txt'), 'utf8')).toBe(`"${projectDir}"\n`)
    expect(JSON.parse(readFileSync(join(runDir, 'config_copy.json'), 'utf8'))).toEqual({answer: 42})
    expect(pwnedUnder(sb.dir)).toEqual([])
    const shown = expectOk(await cli(['show', run.run_id])).run
    expect(shown).toMatchObject({status: 'completed', exit_code: 0})
  })

  it.each([
    ['double', 'echo "{project_dir}" >> note.txt; exit 0', '{project_dir}'],
    ['single', "echo '{run_dir}/x' >> note.txt; exit 0", '{run_dir}'],
  ])('a %s-quoted placeholder is INVALID_CONFIG (exit 2) naming it; nothing is started or written', async (_kind, command, placeholder) => {
    const {sb, projectDir, storeDir, cli} = hostileSetup()
    writeFileSync(join(projectDir, 'autolab.yaml'), `recipes:\n  quoted:\n    command: ${JSON.stringify(command)}\n`)
    const error = expectError(await cli(['launch', '--recipe', 'quoted', '--project', join(projectDir, 'autolab.yaml')]), 'INVALID_CONFIG', 2)
    expect(error.message).toContain('recipes.quoted.command')
    expect(error.message).toContain(placeholder)
    expect(error.message).toContain('autolab quotes it for you; remove the quotes')
    expect(expectOk(await cli(['runs'])).runs).toEqual([])
    expect(existsSync(join(storeDir, 'runs')) ? readdirSync(join(storeDir, 'runs')) : []).toEqual([])
    expect(existsSync(join(projectDir, 'note.txt'))).toBe(false)
    expect(pwnedUnder(sb.dir)).toEqual([])
  })
})
