/** The name Docker looks for on PATH for `"credHelpers": {"<registry>": "authgate"}` (docker-credential-helpers). */
const DOCKER_HELPER_NAME = 'docker-credential-authgate'

/**
 * Pure: the command line the program runs. Installed as `docker-credential-authgate` (a second `bin` name for the
 * same file), Docker runs it as `docker-credential-authgate get`: that is `authgate credential docker get`.
 */
export function helperArgv(invokedPath: string, argv: readonly string[]): string[] {
  const name = invokedPath.split(/[\\/]/).pop() ?? ''
  const isDockerHelper = name.replace(/\.(c?js|cmd|exe)$/i, '') === DOCKER_HELPER_NAME
  return isDockerHelper ? ['credential', 'docker', ...argv] : [...argv]
}
