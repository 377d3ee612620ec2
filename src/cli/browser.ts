import open from 'open'

/**
 * Opens the system browser. `open` spawns the platform opener without a shell, so an `&` in the URL cannot cut it
 * short. It lives in the full program's bundle: the `token` fast lane never opens a browser and should not parse it.
 */
export async function openBrowser(url: string): Promise<void> {
  const child = await open(url, { wait: false })
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject)
    child.once('spawn', () => resolve())
  })
  child.unref()
}
