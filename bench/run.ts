// npm run bench [-- --n 10,50,100,200,500] [--strategy authgate] [--pairs 30] [--skip-handoff] [--only preflight|agent|fleet]
// Issue 2 item 10 and issue 6 item 1 in one run: the refresh storm with three lock strategies, the hot path, and the
// lock hand-off. Prints every figure, and writes bench/results/latest.md and bench/results/storm.svg.
import { build } from 'esbuild'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { killHandoff, parallel, releaseHandoff, type HandoffResult } from './handoff.ts'
import { agentPathLine, runAgentPath } from './agent.ts'
import { runHotPath } from './hot-path.ts'
import { preflightLines, runPreflight } from './preflight.ts'
import { fleetMarkdown, runFleet } from './fleet.ts'
import { PG_INSTALL, postgresBinDir, startPostgres } from '../test/support/postgres.ts'
import { killLive } from './lib/processes.ts'
import { seconds } from './lib/stats.ts'
import { handoffTable, hotPathTable, markdown, stormTable, svg, targetsTable } from './report.ts'
import { runStorm, STRATEGIES, type StormResult } from './storm.ts'

const ROOT = resolve(import.meta.dirname, '..')
/**
 * Issue 6's set, 10, 50, 100 and 200, and issue 11's 500. On a two-core machine the 500 storms alone take minutes;
 * pass `--n 100` for issue 2's single storm, `--strategy authgate` to skip the comparison strategies.
 */
const DEFAULT_N = '10,50,100,200,500'

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: DEFAULT_N },
    pairs: { type: 'string', default: '30' },
    'skip-handoff': { type: 'boolean', default: false },
    /** Only this lock strategy's storms (authgate, proper-lockfile, none). */
    strategy: { type: 'string' },
    /** `preflight`: only (d), issue 15's pre-flight, in a few seconds; `agent`: only (e), the agent's latency;
     * `fleet`: only (f), issue 13's fleet section. */
    only: { type: 'string' },
  },
})
const ns = values.n.split(',').map((v) => Number(v.trim()))
if (ns.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--n wants positive integers, got ${values.n}`)

process.on('SIGINT', () => {
  killLive()
  process.exit(130)
})

/** The comparison clients and the lock worker run as plain node scripts: a loader would distort every start-up. */
async function bundle(): Promise<{ client: string; worker: string }> {
  const outdir = join(ROOT, 'bench/.build')
  const entries = { client: 'bench/strategies/client.ts', worker: 'bench/lock/worker.ts' }
  await build({
    absWorkingDir: ROOT,
    entryPoints: entries,
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // kernel-lock.ts loads the addon with createRequire(import.meta.url): from bench/.build it finds node_modules.
    external: ['fs-native-extensions'],
    banner: {
      js: "import { createRequire as __benchRequire } from 'node:module'; const require = __benchRequire(import.meta.url);",
    },
    logLevel: 'warning',
  })
  return { client: join(outdir, 'client.mjs'), worker: join(outdir, 'worker.mjs') }
}

function log(line: string): void {
  process.stderr.write(`${line}\n`)
}

async function main(): Promise<void> {
  if (values.only === 'preflight') {
    process.stdout.write(`${preflightLines(await runPreflight(200)).join('\n')}\n`)
    return
  }
  if (values.only === 'agent') {
    process.stdout.write(`${agentPathLine(await runAgentPath(join(ROOT, 'bin/authgate.js'), Number(values.pairs)))}\n`)
    return
  }
  const started = performance.now()
  const loadAtStart = loadavg()[0]!
  const { client, worker } = await bundle()
  const bin = join(ROOT, 'bin/authgate.js')
  const notes: string[] = []

  log(`(a) refresh storm, N = ${ns.join(', ')}`)
  const storms: StormResult[] = []
  for (const n of ns) {
    for (const strategy of STRATEGIES.filter((s) => values.strategy === undefined || s === values.strategy)) {
      const result = await runStorm(strategy, n, { root: ROOT, bin, client })
      storms.push(result)
      log(
        `  N=${n} ${strategy}: ${result.refreshGrants} grants, ${result.failed} failed, wall ${seconds(result.wallMs)}, ratio ${result.ratio.toFixed(2)}${result.sampleError ? ` (${result.sampleError})` : ''}`,
      )
    }
  }

  log('(b) hot path')
  const hotPath = await runHotPath(bin, Number(values.pairs))

  const handoffs: HandoffResult[] = []
  if (!values['skip-handoff']) {
    log('(c) lock hand-off')
    handoffs.push(await releaseHandoff(worker, 'thread', 40, 60))
    handoffs.push(await releaseHandoff(worker, 'process', 30, 250))
    handoffs.push(await killHandoff(worker, 'thread', 20, 60))
    handoffs.push(await killHandoff(worker, 'process', 20, 250))
    // proper-lockfile: a waiter retries every 1–2 s, and a dead holder's lock is taken over only once it is stale.
    // With the popular 5 retries a waiter may give up before the stale window ends; the patient variant shows when
    // the takeover happens at all.
    const [plRelease, plKill, plPatient] = await Promise.all([
      parallel(5, () => releaseHandoff(worker, 'proper-lockfile', 1, 300)),
      parallel(5, () => killHandoff(worker, 'proper-lockfile', 1, 300)),
      parallel(5, () => killHandoff(worker, 'proper-lockfile-patient', 1, 300)),
    ])
    handoffs.push(plRelease, plKill, plPatient)
  }

  log('(d) pre-flight')
  notes.push(...preflightLines(await runPreflight(200)))
  log('(e) token through the agent')
  notes.push(agentPathLine(await runAgentPath(bin, Number(values.pairs))))

  const totalS = (performance.now() - started) / 1000
  notes.push(
    `The whole run took ${totalS.toFixed(0)} s. Load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end, on ${cpus().length} cores: other work on the machine stretches every wall time.`,
  )
  notes.push(
    'Every process gets a clean environment (PATH and HOME only, plus the settings); times are from spawn() to exit, measured by the parent.',
  )
  const report = {
    when: new Date().toISOString(),
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${process.platform}`,
    command: `npm run bench -- --n ${ns.join(',')}`,
    storms,
    hotPath,
    handoffs,
    notes,
  }
  const out = join(ROOT, 'bench/results')
  mkdirSync(out, { recursive: true })
  writeFileSync(join(out, 'latest.md'), markdown(report))
  writeFileSync(join(out, 'storm.svg'), svg(storms))
  process.stdout.write(
    `\n${targetsTable(report)}\n\n${stormTable(storms)}\n\n${hotPathTable(hotPath)}\n\n${handoffs.length ? `${handoffTable(handoffs)}\n\n` : ''}`,
  )
  process.stdout.write(`${notes.join('\n')}\nwrote bench/results/latest.md and bench/results/storm.svg\n`)
  // The fleet section needs PostgreSQL; without it the rest of the bench still stands.
  if (postgresBinDir() !== undefined) await fleetOnly()
  else log(`(f) fleet section skipped: ${PG_INSTALL}`)
}

/** The fleet section alone: a real PostgreSQL (initdb in a temp dir), stopped afterwards. */
async function fleetOnly(): Promise<void> {
  const bin = postgresBinDir()
  if (bin === undefined) throw new Error(`the fleet bench needs PostgreSQL: ${PG_INSTALL}`)
  const loadAtStart = loadavg()[0]!
  const server = await startPostgres(bin)
  try {
    log('(f) fleet sessions on PostgreSQL')
    const result = await runFleet(
      server,
      join(ROOT, 'bin/authgate.js'),
      { processes: 200, machines: 10, reps: 2, takeovers: 10, pairs: Number(values.pairs) },
      log,
    )
    const note = `Load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end, on ${cpus().length} cores.`
    const text = `# Fleet bench (${new Date().toISOString()}, \`npm run bench -- --only fleet\`)\n\n${fleetMarkdown(result)}\n\n${note}\n`
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true })
    writeFileSync(join(ROOT, 'bench/results/fleet.md'), text)
    process.stdout.write(`\n${text}wrote bench/results/fleet.md\n`)
  } finally {
    server.stop()
  }
}

if (values.only === 'fleet') await fleetOnly()
else await main()
