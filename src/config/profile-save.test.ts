import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, mkdirSync, lstatSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { AuthgateError } from '../errors.ts'
import { loadSettings } from './load.ts'
import { profileValues, saveProfile } from './profile-save.ts'

function configDir(t: TestContext): string {
  const root = mkdtempSync(join(tmpdir(), 'authgate-profile-'))
  t.after(() => rmSync(root, { recursive: true, force: true }))
  return join(root, 'config', 'authgate')
}

const read = (dir: string) => JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>

test('profileValues: the flags of one command line as snake_case profile fields', () => {
  const cases = [
    {
      flags: { serverUrl: 'https://a.example', clientId: 'cli' },
      want: { server_url: 'https://a.example', client_id: 'cli' },
    },
    {
      flags: { tokenFile: 'rel/t.json', lockDir: '/abs/locks', scope: 'openid' },
      want: { scope: 'openid', token_file: '/work/rel/t.json', lock_dir: '/abs/locks' },
    },
    {
      flags: { verbose: 'true', clientAuth: 'basic', apiUrl: 'https://api.example', clientSecret: 's' },
      want: { client_secret: 's', client_auth: 'basic', api_url: 'https://api.example' },
    },
    { flags: { serverUrl: '' }, want: {} },
  ]
  for (const c of cases) assert.deepEqual(profileValues(c.flags, '/work'), c.want, JSON.stringify(c.flags))
})

test('saveProfile: creates the file 0600 in a 0700 directory, and the settings read it back', (t) => {
  const dir = configDir(t)
  const path = saveProfile(dir, 'work', {
    server_url: 'https://auth.work.example',
    client_id: 'work-cli',
    scope: undefined,
  })
  assert.equal(path, join(dir, 'config.json'))
  assert.deepEqual(read(dir), {
    profiles: { work: { server_url: 'https://auth.work.example', client_id: 'work-cli' } },
  })
  assert.equal(statSync(path).mode & 0o777, 0o600)
  assert.equal(statSync(dir).mode & 0o777, 0o700)
  const settings = loadSettings({ profile: 'work' }, { env: {}, cwd: tmpdir(), paths: { config: dir, cache: dir } })
  assert.deepEqual(
    [settings.serverUrl, settings.clientId, settings.origin.serverUrl],
    ['https://auth.work.example', 'work-cli', 'profile'],
  )
})

test('saveProfile: merges into the profile, keeps other profiles and unknown fields at every level', (t) => {
  const dir = configDir(t)
  mkdirSync(dir, { recursive: true })
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      editor: 'vim',
      profiles: {
        default: { client_id: 'd' },
        work: { server_url: 'https://old.example', client_id: 'old', note: 'keep me' },
      },
    }),
  )
  saveProfile(dir, 'work', { server_url: 'https://new.example' })
  saveProfile(dir, 'home', { client_id: 'h' })
  assert.deepEqual(read(dir), {
    editor: 'vim',
    profiles: {
      default: { client_id: 'd' },
      work: { server_url: 'https://new.example', client_id: 'old', note: 'keep me' },
      home: { client_id: 'h' },
    },
  })
})

test('saveProfile: a file it cannot parse is never overwritten; a bad name is refused', (t) => {
  const dir = configDir(t)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'config.json'), '{ "profiles": ')
  assert.throws(
    () => saveProfile(dir, 'work', { client_id: 'x' }),
    (e: unknown) => e instanceof AuthgateError && e.exitCode === 2 && e.message.includes(join(dir, 'config.json')),
  )
  assert.equal(readFileSync(join(dir, 'config.json'), 'utf8'), '{ "profiles": ')
  for (const name of ['', 'a\nb'])
    assert.throws(
      () => saveProfile(dir, name, {}),
      (e: unknown) => e instanceof AuthgateError && e.exitCode === 2,
    )
})

test('saveProfile: a symbolic link survives (dotfile managers link config files)', (t) => {
  const dir = configDir(t)
  mkdirSync(dir, { recursive: true })
  const target = join(dir, '..', 'dotfiles-config.json')
  writeFileSync(target, '{"profiles":{}}')
  symlinkSync(target, join(dir, 'config.json'))
  saveProfile(dir, 'work', { client_id: 'w' })
  assert.ok(lstatSync(join(dir, 'config.json')).isSymbolicLink())
  assert.deepEqual(JSON.parse(readFileSync(target, 'utf8')), { profiles: { work: { client_id: 'w' } } })
})
