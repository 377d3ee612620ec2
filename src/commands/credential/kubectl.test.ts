import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AuthgateError } from '../../errors.ts'
import { fakeRun, freshTokens, grant, NOW } from '../../../test/support/command-env.ts'
import { execCredentialProblems } from '../../../test/support/exec-credential.ts'
import { execCredential, execCredentialVersion, runKubectlCredential } from './kubectl.ts'

test('execCredentialVersion: the version KUBERNETES_EXEC_INFO asks for, v1 otherwise', () => {
  const cases: Array<[string | undefined, string]> = [
    [undefined, 'client.authentication.k8s.io/v1'],
    ['', 'client.authentication.k8s.io/v1'],
    [
      '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","spec":{"interactive":false}}',
      'client.authentication.k8s.io/v1beta1',
    ],
    [
      '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":true}}',
      'client.authentication.k8s.io/v1',
    ],
    ['{"apiVersion":"client.authentication.k8s.io/v1alpha1"}', 'client.authentication.k8s.io/v1'],
    ['not json', 'client.authentication.k8s.io/v1'],
  ]
  for (const [info, want] of cases) assert.equal(execCredentialVersion(info), want, String(info))
})

test('execCredential: the shape kubectl reads, valid against the schema', () => {
  const cases = [
    {
      expiresAtMs: Date.UTC(2030, 0, 2, 3, 4, 5, 678) as number | undefined,
      want: {
        apiVersion: 'client.authentication.k8s.io/v1',
        kind: 'ExecCredential',
        status: { token: 'tok', expirationTimestamp: '2030-01-02T03:04:05Z' },
      },
    },
    {
      expiresAtMs: undefined,
      want: { apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 'tok' } },
    },
  ]
  for (const c of cases) {
    const doc = execCredential('tok', c.expiresAtMs)
    assert.deepEqual(doc, c.want)
    assert.deepEqual(execCredentialProblems(JSON.parse(JSON.stringify(doc))), [])
  }
  assert.deepEqual(
    execCredentialProblems({
      apiVersion: 'v1',
      kind: 'Pod',
      status: { token: '', expirationTimestamp: 'tomorrow', clientKeyData: 'x' },
    }),
    ['apiVersion v1', 'kind Pod', 'status.token', 'expirationTimestamp tomorrow', 'unexpected status.clientKeyData'],
  )
})

const tokenServer = (req: Request) =>
  new URL(req.url).pathname === '/oauth/token' ? grant('2') : new Response('404 page not found', { status: 404 })

const runCases: Array<{
  name: string
  env?: Record<string, string>
  seeded?: ReturnType<typeof freshTokens> | null
  want: { token?: string; version?: string; error?: boolean }
}> = [
  { name: 'a valid token: one ExecCredential document on stdout', want: { token: 'AT1-0123456789' } },
  {
    name: 'an expiring token: refreshed first',
    seeded: { ...freshTokens(), expiresAtMs: NOW + 1000, obtainedAtMs: NOW - 3_600_000 },
    want: { token: 'AT2-0123456789' },
  },
  {
    name: 'a kubeconfig on v1beta1: answered in v1beta1',
    env: {
      KUBERNETES_EXEC_INFO: '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","spec":{}}',
    },
    want: { token: 'AT1-0123456789', version: 'client.authentication.k8s.io/v1beta1' },
  },
  { name: 'not signed in: exit 4 and an empty stdout', seeded: null, want: { error: true } },
]

for (const c of runCases) {
  test(`run: ${c.name}`, async (t) => {
    const run = fakeRun(t, { server: tokenServer, env: c.env })
    if (c.seeded !== null) await run.seed(c.seeded ?? freshTokens())
    const done = runKubectlCredential({ login: false }, run.env)
    if (c.want.error) {
      await assert.rejects(done, (e: unknown) => e instanceof AuthgateError && e.exitCode === 4)
      return assert.equal(run.out.stdout, '')
    }
    await done
    assert.ok(
      run.out.stdout.endsWith('}\n') && run.out.stdout.indexOf('\n') === run.out.stdout.length - 1,
      'one line of JSON',
    )
    const doc = JSON.parse(run.out.stdout) as { status: { token: string; expirationTimestamp: string } }
    assert.deepEqual(execCredentialProblems(doc, c.want.version), [])
    assert.equal(doc.status.token, c.want.token)
    assert.equal(doc.status.expirationTimestamp, new Date(NOW + 3_600_000).toISOString().replace('.000Z', 'Z'))
  })
}
