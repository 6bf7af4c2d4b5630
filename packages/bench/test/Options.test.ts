import { describe, expect, it } from "@effect/vitest"
import { defaultScenarios, OptionsError, parse, scenarios } from "../src/Options.js"

describe("Options", () => {
  it("defaults to the quick preset with every scenario but replicas (HAProxy) and the policy simulator, which run when asked for", () => {
    const o = parse([])
    expect(o.preset).toBe("quick")
    expect(o.scenarios).toEqual(defaultScenarios)
    expect(scenarios.filter((s) => !defaultScenarios.includes(s))).toEqual(["replicas", "policy"])
    expect(parse(["--scenario", "policy"]).scenarios).toEqual(["policy"])
    expect(parse(["--scenario", "all"]).scenarios).toEqual(scenarios)
    expect(o.model).toBe("default")
    expect(o.help).toBe(false)
  })

  it("accepts flags with or without a `--` separator (pnpm bench -- --full)", () => {
    expect(parse(["--", "--full"]).preset).toBe("full")
    expect(parse(["--full"]).preset).toBe("full")
    expect(parse(["--", "--help"]).help).toBe(true)
  })

  it("expands scenario groups and keeps the run order", () => {
    expect(parse(["--scenario", "systems,ceilings"]).scenarios).toEqual(["model", "transport", "engine", "systems"])
  })

  it("overrides the preset's timing, and --seconds also sets the load windows unless given", () => {
    const o = parse(["--scenario", "ceilings,systems", "--seconds", "3", "--repeats", "2", "--seq", "16,128"])
    expect(o).toMatchObject({ seconds: 3, loadSeconds: 3, repeats: 2, seqs: [16, 128] })
    expect(parse(["--seconds", "3", "--load-seconds", "1"]).loadSeconds).toBe(1)
  })

  it("the smoke preset uses the tiny model", () => {
    expect(parse(["--smoke"])).toMatchObject({ preset: "smoke", model: "tiny" })
    expect(parse(["--smoke", "--model", "echo"]).model).toBe("echo")
  })

  it("names what is wrong", () => {
    expect(() => parse(["--scenario", "nope"])).toThrow(OptionsError)
    expect(() => parse(["--scenario", "nope"])).toThrow(/unknown "nope"/)
    expect(() => parse(["--repeats", "1.5"])).toThrow(/integer/)
    expect(() => parse(["--systems", "adaptive,bogus"])).toThrow(/bogus/)
    expect(() => parse(["--full", "--smoke"])).toThrow(/exclude/)
    expect(() => parse(["--frobnicate"])).toThrow(OptionsError)
  })
})
