/**
 * Opens the system browser, for the CLI and the library alike. `open` spawns the platform opener without a shell, so
 * an `&` in the URL cannot cut it short. Imported on first use: its module graph probes WSL, Docker and the default
 * browser as it loads, which every other command would pay for.
 */
export async function openBrowser(url: string): Promise<void> {
  const { default: open } = await import('open')
  // open 11 resolves once the opener has spawned (and rejects if it cannot be): its 'spawn' event is already past, so
  // waiting for it here would hang every sign-in that really opened a browser.
  const child = await open(url, { wait: false })
  child.unref()
}
