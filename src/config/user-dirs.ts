import { isAbsolute, join } from 'node:path'

export interface UserDirs {
  readonly config: string
  readonly cache: string
}

/**
 * Where authgate keeps its config (profiles) and cache (locks): the directories env-paths gives `authgate` (suffix
 * ''), computed here so that the start-up of `authgate token` loads neither env-paths nor node:os. One difference,
 * on purpose: a relative `XDG_CONFIG_HOME`/`XDG_CACHE_HOME` is ignored, as the XDG spec asks; env-paths resolves it
 * against the working directory, where a cloned repository could supply the profile file (or the locks).
 * @param homedir os.homedir(), called only when the environment does not already say where home is.
 */
export function userDirs(env: NodeJS.ProcessEnv, platform: NodeJS.Platform, homedir: () => string): UserDirs {
  const name = 'authgate'
  if (platform === 'darwin') {
    const library = join(home(env, homedir), 'Library')
    return { config: join(library, 'Preferences', name), cache: join(library, 'Caches', name) }
  }
  if (platform === 'win32') {
    // os.homedir() is USERPROFILE's business on Windows: no shortcut through HOME.
    const appData = env.APPDATA || join(homedir(), 'AppData', 'Roaming')
    const localAppData = env.LOCALAPPDATA || join(homedir(), 'AppData', 'Local')
    return { config: join(appData, name, 'Config'), cache: join(localAppData, name, 'Cache') }
  }
  const xdg = (variable: string, fallback: string) => {
    const value = env[variable]
    return value && isAbsolute(value) ? value : join(home(env, homedir), fallback)
  }
  return { config: join(xdg('XDG_CONFIG_HOME', '.config'), name), cache: join(xdg('XDG_CACHE_HOME', '.cache'), name) }
}

/** os.homedir() on a POSIX system is $HOME when it is set, and the password database's entry otherwise. */
function home(env: NodeJS.ProcessEnv, homedir: () => string): string {
  return env.HOME || homedir()
}
