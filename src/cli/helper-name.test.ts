import assert from 'node:assert/strict'
import { test } from 'node:test'
import { helperArgv } from './helper-name.ts'

test('helperArgv: invoked as docker-credential-authgate, the action is `credential docker <action>`', () => {
  const cases: Array<[string, string[], string[]]> = [
    ['/usr/local/bin/docker-credential-authgate', ['get'], ['credential', 'docker', 'get']],
    ['C:\\npm\\docker-credential-authgate.cmd', ['list'], ['credential', 'docker', 'list']],
    ['/x/docker-credential-authgate.js', ['erase'], ['credential', 'docker', 'erase']],
    ['/usr/local/bin/authgate', ['get'], ['get']],
    ['/repo/bin/authgate.js', ['token'], ['token']],
    ['/usr/bin/docker-credential-authgate-old', ['get'], ['get']],
    ['', [], []],
  ]
  for (const [path, argv, want] of cases) assert.deepEqual(helperArgv(path, argv), want, path)
})
