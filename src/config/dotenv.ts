/**
 * A small `.env` reader: `KEY=value`, `export KEY=value`, `#` comments, single quotes verbatim, double quotes with
 * `\n` escapes. It never expands variables: a `.env` in a checked-out repository is not a place to run code from.
 */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    if (!line || line.startsWith('#')) continue
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line)
    if (!m) continue
    out[m[1]!] = unquote(m[2]!)
  }
  return out
}

function unquote(value: string): string {
  const q = value[0]
  if ((q === '"' || q === "'") && value.length >= 2) {
    const end = value.lastIndexOf(q)
    if (end > 0) {
      const inner = value.slice(1, end)
      return q === '"' ? inner.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\') : inner
    }
  }
  return value.replace(/\s+#.*$/, '').trim()
}
