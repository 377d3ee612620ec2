import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CommanderError } from 'commander'
import { parsedOptions } from '../../../test/support/parse-table.ts'
import { UsageError } from '../../errors.ts'
import { exposedFlags, registerAgent, type AgentOptions } from './agent.ts'

// ---- parse table: argv → options, with the run function replaced ----

const parse = (argv: string[]) => parsedOptions<AgentOptions>(argv, (p, env, capture) => registerAgent(p, env, capture))

const parseCases: Array<{ argv: string[]; want: AgentOptions | ((err: unknown) => boolean) }> = [
  { argv: ['agent'], want: { socket: undefined, expose: [] } },
  { argv: ['agent', '--socket', '/run/a.sock'], want: { socket: '/run/a.sock', expose: [] } },
  {
    argv: ['agent', '--expose', 'work', '--expose', 'cli@https://auth.example'],
    want: { socket: undefined, expose: ['work', 'cli@https://auth.example'] },
  },
  { argv: ['--client-id', 'x', 'agent', '--socket=s'], want: { socket: 's', expose: [] } },
  { argv: ['agent', '--expose'], want: (e) => e instanceof CommanderError },
  { argv: ['agent', 'extra'], want: (e) => e instanceof CommanderError },
]
for (const c of parseCases) {
  test(`parse: authgate ${c.argv.join(' ')}`, async () => {
    if (typeof c.want === 'function') return void (await assert.rejects(parse(c.argv), c.want))
    assert.deepEqual(await parse(c.argv), c.want)
  })
}

// ---- --expose: a profile name or <client id>@<server URL> ----

const base = { serverUrl: 'https://default.example', clientId: 'default', tokenFile: '/t.json', agentSock: '/a.sock' }
const exposeCases: Array<{ spec: string; want: object | typeof UsageError }> = [
  { spec: 'work', want: { profile: 'work', agentSock: '/a.sock' } },
  {
    spec: 'cli@https://auth.example',
    want: { ...base, clientId: 'cli', serverUrl: 'https://auth.example', profile: undefined },
  },
  {
    spec: 'me@corp@http://127.0.0.1:8080',
    want: { ...base, clientId: 'me@corp', serverUrl: 'http://127.0.0.1:8080', profile: undefined },
  },
  { spec: 'user@host', want: UsageError },
  { spec: '', want: UsageError },
  { spec: '@https://auth.example', want: UsageError },
]
for (const c of exposeCases) {
  test(`--expose ${JSON.stringify(c.spec)}`, () => {
    if (c.want === UsageError) return void assert.throws(() => exposedFlags(c.spec, base), UsageError)
    assert.deepEqual(exposedFlags(c.spec, base), c.want)
  })
}
