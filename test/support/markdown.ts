import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** Reading the manual the way GitHub renders it, for test/integration/docs.test.ts. */

export interface Heading {
  level: number
  text: string
  slug: string
  line: number
}

export interface Fence {
  /** The info string after the backticks: `sh runnable`. */
  info: string
  body: string
  line: number
}

export interface Link {
  target: string
  line: number
}

/** The lines of a page with fenced code blocks blanked out, so nothing inside a sample counts as a heading or link. */
function proseLines(text: string): string[] {
  let inFence = false
  return text.split('\n').map((line) => {
    if (/^\s*```/.test(line)) {
      inFence = !inFence
      return ''
    }
    return inFence ? '' : line
  })
}

/** GitHub's anchor for a heading: lower case, punctuation dropped (backticks too), spaces → `-`; repeats get `-1`, `-2`. */
export function headings(text: string): Heading[] {
  const seen = new Map<string, number>()
  const out: Heading[] = []
  proseLines(text).forEach((line, i) => {
    const m = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line)
    if (!m) return
    const plain = m[2].replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    const base = plain
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-')
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    out.push({ level: m[1].length, text: plain, slug: n === 0 ? base : `${base}-${n}`, line: i + 1 })
  })
  return out
}

/** The text of one heading's section: from the heading to the next heading of the same or a higher level. */
export function section(text: string, slug: string): string | undefined {
  const all = headings(text)
  const at = all.findIndex((h) => h.slug === slug)
  if (at < 0) return undefined
  const end = all.slice(at + 1).find((h) => h.level <= all[at].level)
  return text
    .split('\n')
    .slice(all[at].line - 1, end ? end.line - 1 : undefined)
    .join('\n')
}

/** Inline links and images outside code (`[text](target)`, `![alt](target)`), with their line numbers. */
export function links(text: string): Link[] {
  const out: Link[] = []
  proseLines(text).forEach((line, i) => {
    const prose = line.replace(/`[^`]*`/g, '')
    for (const m of prose.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) out.push({ target: m[1], line: i + 1 })
  })
  return out
}

/** Every fenced code block with its info string. */
export function fences(text: string): Fence[] {
  const out: Fence[] = []
  let open: { info: string; line: number; body: string[] } | undefined
  text.split('\n').forEach((line, i) => {
    const m = /^\s*```(.*)$/.exec(line)
    if (m && !open) open = { info: m[1].trim(), line: i + 1, body: [] }
    else if (m && open) {
      out.push({ info: open.info, body: open.body.join('\n'), line: open.line })
      open = undefined
    } else open?.body.push(line)
  })
  return out
}

/** README.md and every page of docs/, as paths relative to the repository root. */
export function manualPages(root: string): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
  return ['README.md', ...docs.map((f) => `docs/${f}`)]
}

export function readPage(root: string, page: string): string {
  return readFileSync(join(root, page), 'utf8')
}

/** Tables whose rows do not all have the header's number of cells (GitHub splits on every `|` not escaped as `\|`). */
export function ragged(text: string): Array<{ line: number; cells: number; header: number }> {
  const out: Array<{ line: number; cells: number; header: number }> = []
  let header: number | undefined
  proseLines(text).forEach((line, i) => {
    if (!line.startsWith('|')) return void (header = undefined)
    const cells = line
      .trim()
      .replace(/^\||\|$/g, '')
      .split(/(?<!\\)\|/).length
    header ??= cells
    if (cells !== header) out.push({ line: i + 1, cells, header })
  })
  return out
}
