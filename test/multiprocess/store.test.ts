import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import { after, describe, test } from 'node:test'
import { killAll, startFixture } from './fixtures/child.ts'

const root = mkdtempSync(join(tmpdir(), 'authgate-mp-store-'))
after(() => {
  killAll()
  rmSync(root, { recursive: true, force: true })
})

/** `at-<n>` → n for every session in the document. */
function counters(text: string): Map<string, number> {
  const doc = JSON.parse(text)
  const entries = Object.entries(doc.sessions as Record<string, { access_token: string }>)
  return new Map(entries.map(([account, entry]) => [account, Number(entry.access_token.slice(3))]))
}

describe('file store across processes', { timeout: 180_000 }, () => {
  test('two processes writing different sessions 20 times each: no entry lost or rolled back, the file always parses', async () => {
    const storePath = join(root, 'authgate', 'tokens.json')
    const accounts = ['alpha@https://auth.example.com', 'beta@https://auth.example.com']
    const writers = ['alpha', 'beta'].map((clientId) =>
      startFixture('store-writer', [storePath, 'https://auth.example.com', clientId, '20']),
    )
    await Promise.all(writers.map((writer) => writer.next((r) => r.ready)))
    for (const writer of writers) writer.go()
    let running = true
    const exits = Promise.all(writers.map((writer) => writer.exited)).finally(() => (running = false))
    // Unlocked reads, like `authgate token`: every one must see a whole document, and no session may go back to an
    // older write or vanish, which is what a writer that overwrote the other's newer entry would cause.
    const highest = new Map<string, number>()
    let reads = 0
    while (running) {
      if (existsSync(storePath)) {
        const seen = counters(readFileSync(storePath, 'utf8'))
        for (const [account, previous] of highest) {
          assert.ok(
            (seen.get(account) ?? 0) >= previous,
            `${account} went back from ${previous} to ${seen.get(account)}`,
          )
        }
        for (const [account, value] of seen) highest.set(account, value)
        reads++
      }
      await yieldToLoop()
    }
    for (const exit of await exits) assert.equal(exit.code, 0, exit.stderr)
    assert.ok(reads > 0, 'never saw the file while the writers ran')
    assert.deepEqual(counters(readFileSync(storePath, 'utf8')), new Map(accounts.map((account) => [account, 20])))
    assert.equal(statSync(storePath).mode & 0o777, 0o600)
  })
})
