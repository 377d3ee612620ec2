/**
 * Every message passes through here before it reaches stderr. Known secrets (tokens, client secret) are replaced
 * wherever they appear, and anything shaped like a JWT is cut to its first four characters, as the contract shows:
 * `eyJh…[redacted]`.
 */
export class Redactor {
  readonly #secrets = new Set<string>()

  add(secret: string | undefined): void {
    if (secret && secret.length >= 6) this.#secrets.add(secret)
  }

  redact(text: string): string {
    let out = text
    for (const secret of [...this.#secrets].sort((a, b) => b.length - a.length)) {
      out = out.split(secret).join(`${secret.slice(0, 4)}…[redacted]`)
    }
    return out.replace(/\beyJ[A-Za-z0-9_-]{6,}(?:\.[A-Za-z0-9_-]*){1,4}/g, (jwt) => `${jwt.slice(0, 4)}…[redacted]`)
  }
}
