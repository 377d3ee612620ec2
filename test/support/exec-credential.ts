/**
 * The ExecCredential schema as kubectl checks it, written by hand from k8s.io/client-go/pkg/apis/clientauthentication
 * (v1 and v1beta1 alike): apiVersion of that group, kind ExecCredential, status with a non-empty token and an optional
 * RFC 3339 expirationTimestamp; nothing else in status that would make kubectl use a client certificate instead.
 */
export function execCredentialProblems(doc: unknown, wantVersion = 'client.authentication.k8s.io/v1'): string[] {
  const problems: string[] = []
  const o = doc as Record<string, unknown>
  if (typeof doc !== 'object' || doc === null) return ['not an object']
  if (o.apiVersion !== wantVersion) problems.push(`apiVersion ${String(o.apiVersion)}`)
  if (o.kind !== 'ExecCredential') problems.push(`kind ${String(o.kind)}`)
  const status = o.status as Record<string, unknown> | undefined
  if (typeof status !== 'object' || status === null) return [...problems, 'no status']
  if (typeof status.token !== 'string' || status.token === '') problems.push('status.token')
  const ts = status.expirationTimestamp
  if (
    ts !== undefined &&
    (typeof ts !== 'string' ||
      !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(ts) ||
      Number.isNaN(Date.parse(ts)))
  )
    problems.push(`expirationTimestamp ${String(ts)}`)
  for (const key of Object.keys(status))
    if (!['token', 'expirationTimestamp'].includes(key)) problems.push(`unexpected status.${key}`)
  for (const key of Object.keys(o))
    if (!['apiVersion', 'kind', 'spec', 'status'].includes(key)) problems.push(`unexpected ${key}`)
  return problems
}
