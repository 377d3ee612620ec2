/**
 * Text that a server or a file wrote (error descriptions, user names, URLs, user codes) reaches the terminal through
 * here, so no answer can move the cursor, retitle the terminal (OSC), ring the bell, hide text behind a carriage
 * return or reorder a line with bidi controls (the "Trojan Source" trick, CVE-2021-42574).
 * C0 controls except `\n` and `\t`, DEL, C1 controls, and the bidi embeddings, overrides, isolates and marks.
 */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

/** The same set in JSON output, where JSON.stringify has already escaped C0 (`\n` and `\t` included). */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

/** `\x1b`-style for the one-byte range, `\u202e`-style above it: visible, and unambiguous to a reader. */
export function escapeTerminal(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0)
    return code <= 0xff ? `\\x${hex(code, 2)}` : `\\u${hex(code, 4)}`
  })
}

/** `JSON.stringify` plus `\u` escapes for DEL, C1 and bidi controls: still the same JSON value for any parser. */
export function toSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE_IN_JSON, (c) => `\\u${hex(c.charCodeAt(0), 4)}`)
}

function hex(code: number, width: number): string {
  return code.toString(16).padStart(width, '0')
}
