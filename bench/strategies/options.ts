/** proper-lockfile as popular Node CLIs configure it: 5 retries with 1–2 s jittered delays, stale after 10 s. */
export const POPULAR_LOCK_OPTIONS = {
  retries: { retries: 5, minTimeout: 1000, maxTimeout: 2000, randomize: true },
  stale: 10_000,
} as const
