// The one parser of the check script's answer: what a host prints is untrusted.
import {execFileSync} from 'node:child_process'
import {describe, expect, it} from 'vitest'
import {checkScript, MAX_CHECK_OUTPUT, parseCheckAnswer} from '../../src/lib/hosts/host-check.js'

const GOOD = [
  'autolab-host-check 1', 'now 1795000000', 'tool sh /bin/sh', 'tool python3 ', 'tool nvidia-smi /usr/bin/nvidia-smi',
  'root 1 1', 'df_path /data/autolab', 'df /dev/mapper/vg data 1000000 400000 600000 40% /data mount',
  'gpu_exit 0', 'gpu 0, GPU-5f1c2a3b-1111, NVIDIA A100-SXM4-80GB, 81920', 'gpu 1, GPU-7e9d8c7b-2222, Tesla, V100, [N/A]', 'end', '',
].join('\n')

describe('parseCheckAnswer', () => {
  it('reads every field, GPU names with commas, df lines with spaces in names', () => {
    expect(parseCheckAnswer(GOOD, 'h')).toEqual({
      now: 1795000000, tools: {sh: '/bin/sh', python3: null, nvidia_smi: '/usr/bin/nvidia-smi'}, root_exists: true, root_writable: true,
      disk: {path: '/data/autolab', total_bytes: 1000000 * 1024, free_bytes: 600000 * 1024},
      gpus: [
        {index: '0', uuid: 'GPU-5f1c2a3b-1111', name: 'NVIDIA A100-SXM4-80GB', memory_mib: 81920},
        {index: '1', uuid: 'GPU-7e9d8c7b-2222', name: 'Tesla, V100', memory_mib: null},
      ],
      gpu_error: null,
    })
  })

  it('keeps an nvidia-smi failure as printable text, cut short', () => {
    const answer = parseCheckAnswer(GOOD.replace(/gpu_exit 0\n.*\n.*\n/, `gpu_exit 9\ngpu_error NVIDIA-SMI has failed \u001b[31m${'x'.repeat(1000)}\n`), 'h')
    expect(answer.gpus).toEqual([])
    expect(answer.gpu_error).toMatch(/^NVIDIA-SMI has failed \?\[31mx+…$/)
    expect(answer.gpu_error!.length).toBeLessThanOrEqual(301)
  })

  it.each([
    ['no header', GOOD.replace('autolab-host-check 1\n', '')],
    ['cut short', GOOD.replace('end\n', '')],
    ['an unknown line', GOOD.replace('root 1 1', 'root 1 1\nrm -rf /')],
    ['a clock that is not a number', GOOD.replace('now 1795000000', 'now soon')],
    ['a relative tool path', GOOD.replace('tool sh /bin/sh', 'tool sh bin/sh')],
    ['a bad GPU index', GOOD.replace('gpu 0,', 'gpu -1,')],
    ['a bad GPU uuid', GOOD.replace('GPU-5f1c2a3b-1111', 'GPU 5f1c')],
    ['a GPU index twice', GOOD.replace('gpu 1,', 'gpu 0,')],
    ['no root line', GOOD.replace('root 1 1\n', '')],
    ['a huge answer', GOOD.replace('end\n', `${'tool sh /bin/sh\n'.repeat(MAX_CHECK_OUTPUT / 10)}end\n`)],
    ['a huge line', GOOD.replace('df_path /data/autolab', `df_path /${'a'.repeat(5000)}`)],
  ])('refuses an answer with %s, as a whole', (_what, text) => {
    expect(() => parseCheckAnswer(text, 'h')).toThrow(expect.objectContaining({code: 'HOST_UNREACHABLE', retryable: false}))
  })

  it('parses what the script really prints here, for a root that exists and one that does not', () => {
    for (const root of [process.cwd(), `/nonexistent/it's "quoted" $(x)`]) {
      const out = execFileSync('/bin/sh', ['-s'], {input: checkScript(root)})
      const answer = parseCheckAnswer(out, 'local')
      expect(answer.tools.sh).toMatch(/^\//)
      expect(answer.root_exists).toBe(root === process.cwd())
      expect(answer.disk?.path).toBe(root === process.cwd() ? root : '/')
      expect(Math.abs(answer.now - Date.now() / 1000)).toBeLessThan(5)
    }
  })
})
