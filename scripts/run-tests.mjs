// Runs every test file by explicit path (on Node 20 a bare directory finds 0 tests and passes), then the keyring tests
// inside a private D-Bus session with an unlocked gnome-keyring, and prints one closing line for CI:
// "N passed, N failed, N skipped".
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const only = process.argv.slice(2)
const all = [...walk(join(root, 'src')), ...walk(join(root, 'test'))].map((f) => relative(root, f)).sort()
const pick = (files) => (only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files)
const keyringFiles = pick(all.filter((f) => f.startsWith('test/keyring/')))
const plainFiles = pick(all.filter((f) => !f.startsWith('test/keyring/')))

const totals = { pass: 0, fail: 0, skipped: 0 }
if (plainFiles.length) await runNode(plainFiles, process.env)
if (keyringFiles.length) await runKeyring(keyringFiles)
console.log(`${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped`)
process.exit(totals.fail > 0 || totals.pass === 0 ? 1 : 0)

function walk(dir) {
  let out = []
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'fixtures') continue
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out = out.concat(walk(path))
    else if (name.endsWith('.test.ts')) out.push(path)
  }
  return out
}

function runNode(files, env, wrap = (cmd) => cmd) {
  const cmd = wrap(['node', '--import', 'tsx', '--test', '--test-concurrency=2', ...files])
  return new Promise((resolve) => {
    const child = spawn(cmd[0], cmd.slice(1), { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] })
    let tail = ''
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk)
      tail = (tail + chunk).slice(-4000)
    })
    child.on('close', (code) => {
      const count = (name) => Number(new RegExp(`^# ${name} (\\d+)`, 'm').exec(tail)?.[1] ?? 0)
      totals.pass += count('pass')
      totals.fail += count('fail') + count('cancelled') + (code !== 0 && count('fail') === 0 ? 1 : 0)
      totals.skipped += count('skipped')
      resolve()
    })
  })
}

/** A real Secret Service: dbus-run-session + gnome-keyring-daemon --unlock, with a fresh HOME so no real keyring is touched. */
async function runKeyring(files) {
  const missing = ['dbus-run-session', 'gnome-keyring-daemon'].filter(
    (bin) => spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0,
  )
  if (missing.length) {
    const line = `keyring tests need ${missing.join(' and ')}: apt-get install gnome-keyring dbus-daemon`
    if (process.env.CI === 'true') {
      console.log(`not ok - ${line}`)
      totals.fail += 1
    } else {
      console.log(`# SKIP ${line}`)
      totals.skipped += files.length
    }
    return
  }
  const home = mkdtempSync(join(tmpdir(), 'authgate-keyring-home-'))
  const script = 'echo -n authgate-ci | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec "$@"'
  const env = {
    ...process.env,
    HOME: home,
    XDG_DATA_HOME: join(home, '.local/share'),
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_CACHE_HOME: join(home, '.cache'),
    AUTHGATE_REAL_KEYRING: '1',
  }
  await runNode(files, env, (cmd) => ['dbus-run-session', '--', 'sh', '-c', script, 'sh', ...cmd])
}
