/**
 * API key checking for `Authorization: Bearer <key>`. Keys are compared as SHA-256 digests with
 * `crypto.timingSafeEqual`, so neither the key's content nor its length leaks through timing.
 *
 * @since 0.1.0
 */
import { Redacted } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"

const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest()

/**
 * Why a request was refused.
 *
 * @since 0.1.0
 * @category models
 */
export type Refusal = "missing" | "malformed" | "wrong"

/**
 * A checker for one configured key: `undefined` when the header carries it, otherwise why not.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (key: Redacted.Redacted<string>): (authorization: string | undefined) => Refusal | undefined => {
  const expected = digest(Redacted.value(key))
  return (authorization) => {
    if (authorization === undefined || authorization.length === 0) return "missing"
    const match = /^\s*bearer\s+(.+?)\s*$/i.exec(authorization)
    if (match === null) return "malformed"
    return timingSafeEqual(digest(match[1]!), expected) ? undefined : "wrong"
  }
}

/**
 * The 401 message for a refusal.
 *
 * @since 0.1.0
 * @category models
 */
export const refusalMessage = (refusal: Refusal): string => {
  switch (refusal) {
    case "missing":
      return "missing API key: send the header Authorization: Bearer <key>"
    case "malformed":
      return "malformed Authorization header: expected Authorization: Bearer <key>"
    case "wrong":
      return "invalid API key"
  }
}
