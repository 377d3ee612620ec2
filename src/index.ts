/**
 * authgate-cli as a library: the engine the CLI uses, for programs that need a valid access token.
 * `createClient(options)` → `getAccessToken()`, `fetch()`, `login()`, `logout()`, `status()`. Errors are typed, each
 * with a stable `code` and the exit code the CLI maps it to.
 */
export { createClient, type AuthgateClient, type LogoutReport } from './library/client.ts'
export type { ClientOptions } from './library/options.ts'
export type { LoginOptions, LoginPrompt } from './library/login.ts'
export type { SessionStatus } from './library/status.ts'
export type { RevocationOutcome } from './session/logout.ts'
export {
  AuthgateError,
  AuthRequiredError,
  InterruptedError,
  ProtocolError,
  RequestFailedError,
  StoreError,
  TemporaryError,
  UsageError,
  AUTH_REQUIRED,
  INTERRUPTED,
  PROTOCOL,
  REQUEST_FAILED,
  STORE,
  TEMPORARY,
  USAGE,
} from './errors.ts'
