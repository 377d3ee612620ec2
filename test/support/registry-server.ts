import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TokenCheck } from './resource-server.ts'

/**
 * A container registry as far as `docker manifest inspect` goes (Docker Registry HTTP API V2): `GET /v2/` and
 * `GET /v2/<name>/manifests/<tag>` and the image's config blob, behind HTTP Basic auth whose password must be an access token the authorization
 * server calls active (the token-as-password convention of registries behind an OAuth server). Plain http on
 * 127.0.0.1, which the docker CLI accepts with `--insecure`.
 */

export interface RegistryServer {
  /** `127.0.0.1:<port>`: how Docker names it. */
  host: string
  /** Every request's `Authorization` as `user:password`, or null when it sent none. */
  seen: Array<{ path: string; credentials: string | null }>
  close(): Promise<void>
}

const digest = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`

/** An image's config blob: `docker manifest inspect` fetches it to check the platform. */
const CONFIG = JSON.stringify({
  architecture: 'amd64',
  os: 'linux',
  rootfs: { type: 'layers', diff_ids: [] },
  config: {},
})

/** The image manifest every tag points to: what `docker manifest inspect` prints. */
export const MANIFEST = JSON.stringify({
  schemaVersion: 2,
  mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
  config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: CONFIG.length, digest: digest(CONFIG) },
  layers: [],
})

export async function startRegistryServer(isActive: TokenCheck): Promise<RegistryServer> {
  const seen: RegistryServer['seen'] = []
  const server = createServer(async (req, res): Promise<void> => {
    const auth = req.headers.authorization
    const credentials = auth?.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString('utf8') : null
    seen.push({ path: req.url ?? '', credentials })
    const [user, password] =
      credentials === null ? [] : [credentials.split(':')[0], credentials.slice(credentials.indexOf(':') + 1)]
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0')
    if (user !== 'oauth2' || !password || !(await isActive(password))) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="authgate-test"', 'Content-Type': 'application/json' })
      return void res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}')
    }
    if (req.url === '/v2/') return void res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}')
    const [, kind, reference] = /^\/v2\/[a-z0-9/._-]+\/(manifests|blobs)\/([\w.:-]+)$/.exec(req.url ?? '') ?? []
    if (kind === 'manifests' || (kind === 'blobs' && reference === digest(CONFIG))) {
      const [type, body] =
        kind === 'manifests'
          ? ['application/vnd.docker.distribution.manifest.v2+json', MANIFEST]
          : ['application/octet-stream', CONFIG]
      return void res.writeHead(200, { 'Content-Type': type, 'Docker-Content-Digest': digest(body) }).end(body)
    }
    res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"NAME_UNKNOWN"}]}')
  })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise((done) => server.close(() => done())),
  }
}
