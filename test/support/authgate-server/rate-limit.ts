import type { ServerResponse } from 'node:http'

/**
 * Fixed-window limiter modelled on ulule/limiter's in-memory store as wired by AuthGate (§5): the window opens at a
 * key's first request and lasts one minute; every request increments the counter, even rejected ones.
 */
export interface RateLimiter {
  limit: number
  windows: Map<string, { count: number; resetAtMs: number }>
}

const WINDOW_MS = 60_000

/** A limit of 0 (or less) disables the limiter, as ENABLE_RATE_LIMIT=false does: no headers at all. */
export function createRateLimiter(limit: number): RateLimiter | undefined {
  return limit > 0 ? { limit, windows: new Map() } : undefined
}

/**
 * Counts one request for `key`, sets the X-RateLimit-* headers (on every response of a limited route) and tells
 * whether the request may proceed. There is deliberately no Retry-After header: AuthGate sends none.
 */
export function takeRateLimit(limiter: RateLimiter, key: string, nowMs: number, res: ServerResponse): boolean {
  let window = limiter.windows.get(key)
  if (window === undefined || window.resetAtMs <= nowMs) {
    window = { count: 0, resetAtMs: nowMs + WINDOW_MS }
    limiter.windows.set(key, window)
  }
  window.count += 1
  res.setHeader('X-RateLimit-Limit', String(limiter.limit))
  res.setHeader('X-RateLimit-Remaining', String(Math.max(0, limiter.limit - window.count)))
  res.setHeader('X-RateLimit-Reset', String(Math.floor(window.resetAtMs / 1000)))
  return window.count <= limiter.limit
}

export const RATE_LIMIT_BODY = {
  error: 'rate_limit_exceeded',
  error_description: 'Too many requests. Please try again later.',
} as const
