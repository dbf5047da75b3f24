/** The cookie that keeps the token once a page was opened with it. */
export const TOKEN_COOKIE = 'tanuki_ui_token'
/** The header a client may send the token in instead (scripts, tests). */
export const TOKEN_HEADER = 'x-tanuki-token'

/** A fresh token: 32 random bytes from the platform's CSPRNG, as URL-safe base64. */
export function createToken(): string {
  const bytes = new Uint8Array(32)
  crypto.getRandomValues(bytes)
  let text = ''
  for (const byte of bytes) text += String.fromCharCode(byte)
  return btoa(text).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}

/** Compares two strings in time that depends on their length only, not on where they differ. */
export function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined || given.length !== token.length) return false
  let diff = 0
  for (let i = 0; i < token.length; i++) diff |= given.charCodeAt(i) ^ token.charCodeAt(i)
  return diff === 0
}

/**
 * Whether a request that changes something comes from the dashboard's own page: its `Origin`
 * must be one of the server's origins, or, where a browser sent none, `Sec-Fetch-Site` must say
 * `same-origin`. A request with neither is refused: a script can always send `Origin`.
 */
export function sameOrigin(
  headers: { origin?: string | undefined; fetchSite?: string | undefined },
  origins: readonly string[],
): boolean {
  if (headers.origin !== undefined && headers.origin !== 'null') return origins.includes(headers.origin)
  if (headers.fetchSite !== undefined) return headers.fetchSite === 'same-origin'
  return false
}
