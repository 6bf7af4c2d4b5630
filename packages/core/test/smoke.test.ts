import { describe, expect, it } from "@effect/vitest"
import { version } from "@adabatch/core"
import { InferenceSession } from "onnxruntime-node"
describe("smoke", () => { it("loads", () => { expect(version).toBe("0.1.0"); expect(typeof InferenceSession.create).toBe("function") }) })
