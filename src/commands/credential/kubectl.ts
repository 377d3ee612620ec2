import { rfc3339, validTokens, type CommandEnv } from '../command-env.ts'

export const EXEC_CREDENTIAL_V1 = 'client.authentication.k8s.io/v1'
const SUPPORTED = [EXEC_CREDENTIAL_V1, 'client.authentication.k8s.io/v1beta1'] as const

/** What kubectl reads from an exec plugin's stdout (k8s.io/client-go/pkg/apis/clientauthentication, ExecCredential). */
export interface ExecCredential {
  apiVersion: string
  kind: 'ExecCredential'
  status: {
    token: string
    /** RFC 3339; kubectl runs the plugin again after it. Absent when the server gave no lifetime. */
    expirationTimestamp?: string
  }
}

/**
 * The version to answer in. client-go rejects an answer in another version than the kubeconfig's `exec.apiVersion`,
 * and tells the plugin which one it wants in KUBERNETES_EXEC_INFO; v1 when it says nothing we can use.
 */
export function execCredentialVersion(execInfo: string | undefined): string {
  if (!execInfo) return EXEC_CREDENTIAL_V1
  try {
    const asked = (JSON.parse(execInfo) as { apiVersion?: unknown }).apiVersion
    return SUPPORTED.find((v) => v === asked) ?? EXEC_CREDENTIAL_V1
  } catch {
    return EXEC_CREDENTIAL_V1
  }
}

export interface KubectlCredentialOptions {
  /** --login: sign in interactively (on stderr, which kubectl passes through) when there is no usable session. */
  login: boolean
}

/** Pure: the ExecCredential for a token. */
export function execCredential(
  accessToken: string,
  expiresAtMs: number | undefined,
  apiVersion = EXEC_CREDENTIAL_V1,
): ExecCredential {
  const expirationTimestamp = rfc3339(expiresAtMs)
  return {
    apiVersion,
    kind: 'ExecCredential',
    status: expirationTimestamp === null ? { token: accessToken } : { token: accessToken, expirationTimestamp },
  }
}

/**
 * kubectl's exec credential plugin: one JSON document on stdout and nothing else (kubelogin sends even its browser
 * launcher's output to stderr for this). Not signed in → exit 4 with the hint on stderr, which kubectl shows; with
 * `--login` (and `interactiveMode: IfAvailable` in the kubeconfig) a sign-in on stderr first.
 */
export async function runKubectlCredential(options: KubectlCredentialOptions, env: CommandEnv): Promise<void> {
  const tokens = await validTokens(env, undefined, { login: options.login })
  const version = execCredentialVersion(env.deps.env.KUBERNETES_EXEC_INFO)
  env.deps.io.stdout.write(`${JSON.stringify(execCredential(tokens.accessToken, tokens.expiresAtMs, version))}\n`)
}
