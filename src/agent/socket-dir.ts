import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs'
import { createConnection } from 'node:net'
import { dirname, join } from 'node:path'
import { TemporaryError, UsageError } from '../errors.ts'

/** `$XDG_RUNTIME_DIR/authgate/agent.sock` (per-user, tmpfs, 0700 by systemd), else `<user cache dir>/authgate/agent.sock`. */
export function defaultSocketPath(env: Readonly<Record<string, string | undefined>>, cacheDir: string): string {
  const runtime = env.XDG_RUNTIME_DIR
  return runtime && runtime.startsWith('/') ? join(runtime, 'authgate', 'agent.sock') : join(cacheDir, 'agent.sock')
}

/**
 * The socket's directory is the agent's access control: connect(2) on a Unix socket needs search permission on the
 * directory and write permission on the socket, so a 0700 directory owned by the user admits only the user (and
 * root). Created 0700 when missing; an existing one that is a link, someone else's, or open to group or others is
 * refused rather than repaired: someone may already be inside it.
 * @throws UsageError naming the directory
 */
export function prepareSocketDir(socketPath: string, uid: number | undefined): void {
  const dir = dirname(socketPath)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const st = lstatSync(dir)
  const why = !st.isDirectory()
    ? 'is not a directory'
    : uid !== undefined && st.uid !== uid
      ? `is owned by uid ${st.uid}, not you (uid ${uid})`
      : (st.mode & 0o077) !== 0
        ? `has mode ${(st.mode & 0o777).toString(8)}; it must be 700`
        : undefined
  if (why) {
    throw new UsageError(`refusing the agent socket directory ${dir}: it ${why}`, {
      hint: `use a directory only you can enter (chmod 700 ${dir}), or pass --socket`,
    })
  }
}

/** A socket file left by an agent that was killed is removed; anything else at the path is not ours to delete. */
export function clearStaleSocket(socketPath: string, isListening: boolean): void {
  let st
  try {
    st = lstatSync(socketPath)
  } catch {
    return
  }
  if (!st.isSocket()) throw new UsageError(`refusing to replace ${socketPath}: it is not a socket`)
  if (isListening) throw new TemporaryError(`an authgate agent is already listening on ${socketPath}`)
  unlinkSync(socketPath)
}

/** 0600: on Linux the socket's own mode is checked on connect; elsewhere the 0700 directory does the work. */
export function restrictSocket(socketPath: string): void {
  chmodSync(socketPath, 0o600)
}

/** Whether something answers on the socket: a live agent must not be replaced, a dead one's file may. */
export function isListening(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ path: socketPath })
    socket.on('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.on('error', () => resolve(false))
  })
}

/** Removes the agent's socket file on the way out (only a socket: the path may have been replaced meanwhile). */
export function removeSocket(socketPath: string): void {
  try {
    if (lstatSync(socketPath).isSocket()) unlinkSync(socketPath)
  } catch {
    // already gone
  }
}
