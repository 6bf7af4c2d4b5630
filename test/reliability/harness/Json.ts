/**
 * Reading answers' JSON bodies in the reliability tests.
 */
import type { Outcome } from "@adabatch/testkit/Client"

/** The outcome's body parsed as JSON (`undefined` when it is not JSON); tests read its fields freely. */
export const json = (outcome: Outcome): any => {
  try {
    return JSON.parse(outcome.body.toString("utf8"))
  } catch {
    return undefined
  }
}
