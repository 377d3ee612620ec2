// House rules a type checker cannot see (shared/STYLE.md): the core never touches process, the clock, timers or the
// global fetch; only src/cli/system.ts builds the real edges. Tests and the test-only files are exempt.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

const root = new URL('..', import.meta.url).pathname
// The two composition roots: the CLI's and the library's real edges.
const allowed = new Set(['src/cli/system.ts', 'src/library/system.ts'])
const banned = [
  [/\bprocess\./, 'process.'],
  [/\bDate\.now\(/, 'Date.now()'],
  [/\bsetTimeout\(/, 'setTimeout('],
  [/(^|[^.\w])fetch\(|(?<!typeof )globalThis\.fetch/, 'the global fetch'],
]
const problems = []
for (const file of walk(join(root, 'src'))) {
  const rel = relative(root, file)
  if (allowed.has(rel) || rel.endsWith('.test.ts')) continue
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (/^\s*(\/\/|\/?\*)/.test(line)) return
      if (/^\s*fetch\(.*\):/.test(line)) return // a method signature named fetch, not a call
      for (const [re, what] of banned)
        if (re.test(line)) problems.push(`${rel}:${i + 1}: ${what} outside src/cli/system.ts`)
    })
}
for (const file of walk(join(root, 'src'))) {
  if (file.endsWith('.test.ts')) continue
  const lines = readFileSync(file, 'utf8').split('\n').length
  if (lines > 400) problems.push(`${relative(root, file)}: ${lines} lines (split it by concern)`)
}
if (problems.length) {
  console.error(problems.join('\n'))
  process.exit(1)
}
console.log('style: ok')

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? walk(path) : path.endsWith('.ts') ? [path] : []
  })
}
