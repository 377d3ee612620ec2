import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/** An API server certificate for 127.0.0.1, valid for a day. */
export function selfSignedCertificate(dir: string): { key: string; cert: string } {
  const [key, cert] = [join(dir, 'api.key'), join(dir, 'api.crt')]
  const made = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'pipe' },
  )
  assert.equal(made.status, 0, String(made.stderr))
  return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') }
}
