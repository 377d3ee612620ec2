import assert from 'node:assert/strict'
import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test, type TestContext } from 'node:test'
import { createCliHome, killAllClis, requireBuild, runCli, ROOT } from '../support/cli.ts'

/**
 * The scripts `authgate completion <shell>` prints, loaded into the real shells: bash through its programmable
 * completion (`complete -p` names the function; COMP_WORDS/COMP_CWORD as readline sets them), zsh through its
 * completion system in a pseudo-terminal (test/support/zsh-complete.zsh presses Tab and records every match), fish
 * through `complete -C`.
 */

before(requireBuild)
after(killAllClis)

const LINES: Array<[string, string[]]> = [
  ['authgate lo', ['login', 'logout']],
  ['authgate credential do', ['docker']],
  ['authgate credential docker ', ['erase', 'get', 'list', 'store']],
  ['authgate --server-url https://as.example cred', ['credential']],
  ['authgate --token-store ', ['auto', 'encrypted', 'file', 'keyring', 'postgres']],
  ['authgate status --off', ['--offline']],
  ['authgate exec --reg', ['--registry']],
  ['authgate completion ', ['bash', 'fish', 'zsh']],
]

async function scriptFor(t: TestContext, shell: string): Promise<string | undefined> {
  if (spawnSync(shell, ['-c', 'exit 0'], { stdio: 'ignore' }).error !== undefined) {
    const why = `${shell} is not installed: apt-get install ${shell}`
    if (process.env.CI === 'true') assert.fail(why)
    t.skip(why)
    return undefined
  }
  const home = createCliHome()
  t.after(home.remove)
  const out = await runCli(['completion', shell], { home })
  assert.deepEqual([out.code, out.stderr], [0, ''])
  const file = join(home.dir, `authgate.${shell}`)
  writeFileSync(file, out.stdout)
  return file
}

const sorted = (text: string) =>
  text
    .split('\n')
    .map((l) => l.split('\t')[0]!)
    .filter((l) => l !== '')
    .sort()

describe('completion scripts in the real shells', () => {
  test('bash: the function `complete -p authgate` names offers login and logout for `authgate lo`', async (t) => {
    const file = await scriptFor(t, 'bash')
    if (!file) return
    for (const [line, want] of LINES) {
      const words = line.split(' ')
      const script = `source "$1"
        fn=$(complete -p authgate | sed -E 's/.* -F ([^ ]+) .*/\\1/')
        COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
        COMP_LINE='${line}'; COMP_POINT=\${#COMP_LINE}
        "$fn" authgate "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD-1]}"
        printf '%s\\n' "\${COMPREPLY[@]}"`
      const out: SpawnSyncReturns<string> = spawnSync('bash', ['--norc', '--noprofile', '-c', script, 'bash', file], {
        encoding: 'utf8',
      })
      assert.equal(out.status, 0, out.stderr)
      assert.deepEqual(sorted(out.stdout), want, line)
    }
  })

  test('zsh: Tab after `authgate lo` offers login and logout', async (t) => {
    const file = await scriptFor(t, 'zsh')
    if (!file) return
    for (const [line, want] of LINES) {
      const out: SpawnSyncReturns<string> = spawnSync(
        'zsh',
        ['-f', join(ROOT, 'test/support/zsh-complete.zsh'), file, line],
        {
          encoding: 'utf8',
          timeout: 60_000,
        },
      )
      assert.equal(out.status, 0, out.stderr)
      assert.deepEqual(sorted(out.stdout), want, line)
    }
  })

  test("fish: complete -C 'authgate lo' offers login and logout", async (t) => {
    const file = await scriptFor(t, 'fish')
    if (!file) return
    for (const [line, want] of LINES) {
      const out: SpawnSyncReturns<string> = spawnSync(
        'fish',
        ['--no-config', '-c', `source $argv[1]; complete -C $argv[2]`, file, line],
        {
          encoding: 'utf8',
        },
      )
      assert.equal(out.status, 0, out.stderr)
      assert.deepEqual(sorted(out.stdout), want, line)
    }
  })
})
