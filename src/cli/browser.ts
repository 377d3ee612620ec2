/**
 * Opens the system browser. `open` spawns the platform opener without a shell, so an `&` in the URL cannot cut it
 * short. Imported on first use: its module graph probes WSL, Docker and the default browser as it loads, which every
 * other command would pay for.
 */
export async function openBrowser(url: string): Promise<void> {
  const { default: open } = await import('open')
  const child = await open(url, { wait: false })
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject)
    child.once('spawn', () => resolve())
  })
  child.unref()
}
