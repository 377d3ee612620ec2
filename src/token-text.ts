/**
 * RFC 6749 A.12/A.17: an access or refresh token is 1*VSCHAR (printable ASCII). `token` prints it raw and the git
 * helper writes it into git's line protocol, so a control byte or a line break would retitle a terminal or add
 * attributes to git's answer: a server's answer or a Go file holding anything else is refused.
 */
export function isTokenText(value: string): boolean {
  return /^[\x20-\x7e]+$/.test(value)
}
