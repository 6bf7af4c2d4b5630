/**
 * The `@example` blocks of the testkit's doc comments, type-checked against its sources (the same
 * strict options as the build), so that an example that no longer compiles fails here.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const src = fileURLToPath(new URL("../src/", import.meta.url))

/** Every ```ts block inside an `@example` of `file`, with its doc-comment stars removed. */
const examplesOf = (file: string): Array<string> => {
  const text = Fs.readFileSync(Path.join(src, file), "utf8")
  const blocks: Array<string> = []
  for (const match of text.matchAll(/@example\n((?: \*.*\n)+?) \* ```\n/g)) {
    const lines = match[1]!.split("\n").map((l) => l.replace(/^ \* ?/, ""))
    const start = lines.findIndex((l) => l.startsWith("```ts"))
    if (start >= 0) blocks.push(lines.slice(start + 1).join("\n"))
  }
  return blocks
}

describe("testkit examples", () => {
  it("every @example compiles", () => {
    const files = Fs.readdirSync(src).filter((f) => f.endsWith(".ts"))
    const examples = files.flatMap((f) => examplesOf(f).map((code, i) => ({ name: `${f}#${i}`, code })))
    expect(examples.length).toBeGreaterThanOrEqual(5)
    const virtual = new Map(examples.map((e) => [Path.join(src, `__example_${e.name.replace(/\W/g, "_")}.ts`), e.code]))
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ["lib.es2022.d.ts"],
      types: ["node"],
      strict: true,
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true,
      skipLibCheck: true,
      noEmit: true,
      paths: { "@adabatch/testkit": [Path.join(src, "index.ts")] }
    }
    const host = ts.createCompilerHost(options)
    const read = host.readFile.bind(host)
    host.readFile = (f) => virtual.get(f) ?? read(f)
    const exists = host.fileExists.bind(host)
    host.fileExists = (f) => virtual.has(f) || exists(f)
    const getSource = host.getSourceFile.bind(host)
    host.getSourceFile = (f, v) => {
      const code = virtual.get(f)
      return code === undefined ? getSource(f, v) : ts.createSourceFile(f, code, v)
    }
    const program = ts.createProgram([...virtual.keys()], options, host)
    const problems = ts.getPreEmitDiagnostics(program)
      .filter((d) => d.file !== undefined && virtual.has(d.file.fileName))
      .map((d) => `${Path.basename(d.file!.fileName)}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`)
    expect(problems).toEqual([])
  })
})
