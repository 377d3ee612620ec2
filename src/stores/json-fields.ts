/**
 * Readers shared by every JSON token format, ours (token-entry.ts, file-codec.ts) and the Go tools' (go-codec.ts):
 * objects, optional strings, RFC 3339 times. Pure functions; no format knowledge.
 */

export type JsonObject = Record<string, unknown>

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A reader of an entry's optional strings: absent, null and '' (Go's "unset") are undefined; another type throws. */
export function stringFields(entry: JsonObject, wrongType: (field: string) => Error) {
  return (field: string): string | undefined => {
    const value = entry[field]
    if (value === undefined || value === null || value === '') return undefined
    if (typeof value !== 'string') throw wrongType(field)
    return value
  }
}

/** RFC 3339 as Go writes it too: nanoseconds and a zone offset. Date.parse's extra formats are not accepted. */
export function parseRfc3339(value: string): number | undefined {
  const m = RFC3339.exec(value)
  if (!m) return undefined
  const [, year, month, day, hour, minute, second, fraction, , sign, offH, offM] = m
  const offsetMinutes = sign === undefined ? 0 : (sign === '-' ? -1 : 1) * (Number(offH) * 60 + Number(offM))
  const ms = Math.trunc(Number(`0${fraction ?? ''}`) * 1000)
  const date = new Date(0)
  date.setUTCFullYear(Number(year), Number(month) - 1, Number(day))
  date.setUTCHours(Number(hour), Number(minute), Number(second), ms)
  if (date.getUTCMonth() !== Number(month) - 1 || date.getUTCDate() !== Number(day)) return undefined
  return date.getTime() - offsetMinutes * 60_000
}

export function dropUndefined<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T
}
