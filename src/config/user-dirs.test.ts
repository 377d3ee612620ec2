import assert from 'node:assert/strict'
import { test } from 'node:test'
import { userDirs } from './user-dirs.ts'

const noHomedir = () => assert.fail('os.homedir() must not be needed when HOME is set')

test('Linux: the XDG directories when absolute, ~/.config and ~/.cache otherwise (as env-paths gave them)', () => {
  assert.deepEqual(userDirs({ HOME: '/home/ada' }, 'linux', noHomedir), {
    config: '/home/ada/.config/authgate',
    cache: '/home/ada/.cache/authgate',
  })
  assert.deepEqual(
    userDirs({ HOME: '/home/ada', XDG_CONFIG_HOME: '/x/c', XDG_CACHE_HOME: '/x/k' }, 'linux', noHomedir),
    {
      config: '/x/c/authgate',
      cache: '/x/k/authgate',
    },
  )
})

test('a relative XDG directory is ignored, never resolved against the working directory', () => {
  assert.deepEqual(
    userDirs({ HOME: '/home/ada', XDG_CONFIG_HOME: 'rel', XDG_CACHE_HOME: './rel' }, 'linux', noHomedir),
    {
      config: '/home/ada/.config/authgate',
      cache: '/home/ada/.cache/authgate',
    },
  )
})

test('without HOME the password database (os.homedir) says where home is', () => {
  assert.equal(userDirs({}, 'linux', () => '/var/lib/ada').config, '/var/lib/ada/.config/authgate')
  assert.equal(userDirs({ HOME: '' }, 'freebsd', () => '/usr/home/ada').cache, '/usr/home/ada/.cache/authgate')
})

test('macOS: ~/Library/Preferences and ~/Library/Caches', () => {
  assert.deepEqual(userDirs({ HOME: '/Users/ada', XDG_CONFIG_HOME: '/x' }, 'darwin', noHomedir), {
    config: '/Users/ada/Library/Preferences/authgate',
    cache: '/Users/ada/Library/Caches/authgate',
  })
})

test('Windows: APPDATA and LOCALAPPDATA, else under os.homedir() (USERPROFILE), never HOME', () => {
  const dirs = userDirs({ HOME: '/wrong', APPDATA: 'C:\\A', LOCALAPPDATA: 'C:\\L' }, 'win32', noHomedir)
  assert.ok(dirs.config.startsWith('C:\\A') && dirs.config.endsWith('Config'), dirs.config)
  assert.ok(dirs.cache.startsWith('C:\\L') && dirs.cache.endsWith('Cache'), dirs.cache)
  assert.ok(userDirs({ HOME: '/wrong' }, 'win32', () => 'C:\\Users\\ada').config.startsWith('C:\\Users\\ada'))
})
