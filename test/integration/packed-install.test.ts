// The package as a user gets it: `npm pack` of a fresh checkout (prepack builds), installed globally into a temp prefix
// and into a temp consumer project, then run, imported, required and type-checked there, on the machine's Node and on
// the Node LTS lines of test/support/node-versions.ts.
import assert from 'node:assert/strict'
import { spawnSync, type SpawnSyncOptions } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { after, before, test } from 'node:test'
import { currentNode, EXTRA_NODES, registryNode, type NodeBinary } from '../support/node-versions.ts'

const root = new URL('../..', import.meta.url).pathname
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const work = mkdtempSync(join(tmpdir(), 'authgate-packed-'))
const globalPrefix = join(work, 'global')
const consumer = join(work, 'consumer')
const tarball = join(work, `authgate-cli-${pkg.version}.tgz`)
/**
 * What library users compile with today, installed in the consumer project as they would. (Not a devDependency here:
 * with a second package named `typescript` in node_modules, TypeScript 7 reads that one's lib files.)
 */
const CONSUMER_TYPESCRIPT = '5.9.3'
let files: string[] = []

function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts })
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) }
}

function ok(cmd: string, args: string[], opts: SpawnSyncOptions = {}): string {
  const r = run(cmd, args, opts)
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`)
  return r.stdout
}

/** What a fresh clone holds (tracked and not-ignored files: no dist/), with this checkout's node_modules, as `npm ci` left it. */
function freshClone(): string {
  const clone = join(work, 'clone')
  const listed = ok('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root })
  for (const file of listed.split('\0').filter(Boolean))
    if (existsSync(join(root, file))) cpSync(join(root, file), join(clone, file))
  symlinkSync(join(root, 'node_modules'), join(clone, 'node_modules'))
  return clone
}

/** Installs from the tarball and the npm cache (`npm ci` filled it); the registry only for what the cache lacks. */
const npmInstall = ['install', '--prefer-offline', '--no-audit', '--no-fund']

before(() => {
  ok('npm', ['pack', '--pack-destination', work], { cwd: freshClone() })
  files = ok('tar', ['tzf', tarball]).trim().split('\n').sort()
  ok('npm', [...npmInstall, '--global', '--prefix', globalPrefix, tarball])
  mkdirSync(consumer)
  cpSync(join(root, 'test', 'fixtures', 'package-consumer'), consumer, { recursive: true })
  const types = `@types/node@${pkg.devDependencies['@types/node']}`
  ok('npm', [...npmInstall, tarball, types, `typescript@${CONSUMER_TYPESCRIPT}`], { cwd: consumer })
})
after(() => rmSync(work, { recursive: true, force: true }))

test('npm pack of a fresh checkout builds first and ships only the built package', () => {
  const allowed =
    /^package\/(package\.json|README\.md|LICENSE|bin\/[\w-]+\.js(on)?|dist\/[\w/-]+\.(js|cjs|d\.ts|cjs\.v8cache))$/
  assert.deepEqual(
    files.filter((f) => !allowed.test(f)),
    [],
  )
  for (const needed of ['bin/authgate.js', 'dist/cli.cjs', 'dist/main.cjs', 'dist/index.js', 'dist/index.d.ts'])
    assert.ok(files.includes(`package/${needed}`), `${needed} is in the tarball`)
  assert.ok(!files.some((f) => /\.test\.|fixtures|bench|FORMAT\.md|\/src\//.test(f)))
})

test('publint and arethetypeswrong (profile esm-only) find no problems', () => {
  ok(join(root, 'node_modules', '.bin', 'publint'), ['run', '--strict', join(consumer, 'node_modules', 'authgate-cli')])
  ok(join(root, 'node_modules', '.bin', 'attw'), [tarball, '--profile', 'esm-only', '--format', 'table-flipped'])
})

test('a TypeScript consumer compiles with skipLibCheck off: NodeNext and Bundler, TypeScript 5.9 and 7', () => {
  const compilers = {
    [CONSUMER_TYPESCRIPT]: join(consumer, 'node_modules', 'typescript', 'bin', 'tsc'),
    '7': join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
  }
  for (const [version, tsc] of Object.entries(compilers))
    for (const config of ['tsconfig.nodenext.json', 'tsconfig.bundler.json']) {
      const r = run(process.execPath, [tsc, '-p', config], { cwd: consumer })
      assert.equal(r.status, 0, `TypeScript ${version}, ${config}:\n${r.stdout}${r.stderr}`)
    }
  // The check can fail: a wrong use of the declared API is an error.
  writeFileSync(
    join(consumer, 'wrong.ts'),
    "import { createClient } from 'authgate-cli'\ncreateClient({ clientId: 1 })\n",
  )
  const wrong = run(process.execPath, [compilers['7'], '-p', 'tsconfig.nodenext.json'], { cwd: consumer })
  rmSync(join(consumer, 'wrong.ts'))
  assert.match(wrong.stdout, /wrong\.ts.*TS2322/)
})

test('npx <the tarball> runs authgate, as `npx authgate-cli` does (one bin target, so npx picks `authgate`)', () => {
  const cache = ok('npm', ['config', 'get', 'cache']).trim()
  const env = { ...cleanEnv(currentNode()), npm_config_cache: cache, npm_config_update_notifier: 'false' }
  // A relative path, as npx takes a package spec: an absolute one made npx answer --version itself.
  const args = ['--yes', '--prefer-offline', `./${basename(tarball)}`, '--version']
  assert.equal(ok('npx', args, { cwd: work, env }).trim(), pkg.version)
})

for (const version of [currentNode().version, ...EXTRA_NODES])
  test(`Node ${version}: the global authgate runs, and the package imports and requires`, (t) => {
    const node = version === currentNode().version ? currentNode() : registryNode(t, version)
    if (!node) return
    checkGlobalBin(node)
    checkImportAndRequire(node)
  })

/** A clean environment (as `env -i`): this node first on PATH, an empty HOME, no AUTHGATE_* variables. */
function cleanEnv(node: NodeBinary): NodeJS.ProcessEnv {
  const home = mkdtempSync(join(work, 'home-'))
  return { PATH: `${node.binDir}:${join(globalPrefix, 'bin')}:/usr/bin:/bin`, HOME: home }
}

function checkGlobalBin(node: NodeBinary) {
  const env = cleanEnv(node)
  assert.ok(existsSync(join(globalPrefix, 'bin', 'docker-credential-authgate')), 'the Docker helper bin is linked')
  assert.equal(ok('node', ['--version'], { env }).trim(), `v${node.version}`)
  assert.equal(ok('authgate', ['--version'], { env }).trim(), pkg.version)
  const token = run('authgate', ['token'], { env })
  assert.equal(token.status, 2, token.stderr)
  assert.equal(token.stdout, '')
  assert.match(token.stderr, /^authgate: no client id configured\n.*--client-id/)
  assert.doesNotMatch(token.stderr, /^\s+at /m, 'no stack trace')
}

function checkImportAndRequire(node: NodeBinary) {
  const env = cleanEnv(node)
  const dirs = [join(env.HOME!, 'config'), join(env.HOME!, 'cache')]
  const expected = `createClient function; getAccessToken: AUTHGATE_AUTH_REQUIRED exit 4; same code: true\n`
  for (const script of ['import.mjs', 'require.cjs']) {
    const r = run('node', [script, ...dirs], { cwd: consumer, env })
    assert.equal(r.status, 0, `${script} on Node ${node.version}:\n${r.stderr}`)
    assert.equal(r.stdout, expected, script)
  }
}
