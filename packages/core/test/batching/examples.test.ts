/**
 * The `@example`s in the doc comments of the engine's main entry points (`Batcher.make`,
 * `Batcher.layer`, the policies' layers, `Embedder.layer`) type-check against the sources: each
 * is compiled as a module of its own, importing `@adabatch/core` as a user would.
 */
import { assert, describe, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const root = fileURLToPath(new URL("../../../../", import.meta.url))

/** Files and how many examples each must have at least. */
const sources: ReadonlyArray<readonly [string, number]> = [
  ["packages/core/src/batching/Batcher.ts", 2],
  ["packages/core/src/batching/BatchSizePolicy.ts", 2],
  ["packages/core/src/batching/WaitPolicy.ts", 3],
  ["packages/core/src/batching/QueuePolicy.ts", 1],
  ["packages/core/src/Embedder.ts", 1],
  ["packages/core/src/VectorShape.ts", 2]
]

/** The `@example` code blocks of a source file, doc-comment stars removed. */
const examples = (text: string): Array<string> => {
  const found: Array<string> = []
  for (const m of text.matchAll(/@example\s*\n\s*\*\s*```ts\n([\s\S]*?)\n\s*\*\s*```/g)) {
    found.push(m[1]!.split("\n").map((line) => line.replace(/^\s*\* ?/, "")).join("\n"))
  }
  return found
}

describe("doc comment examples", () => {
  it("type-check against the sources", () => {
    const virtual = new Map<string, string>()
    for (const [file, least] of sources) {
      const found = examples(readFileSync(root + file, "utf8"))
      assert.isAtLeast(found.length, least, `${file}: @example blocks`)
      // only those that use the public entry (the others are fragments of their module)
      found.filter((code) => code.includes("@adabatch/core")).forEach((code, i) => {
        virtual.set(`${root}packages/core/test/batching/__example_${file.replace(/\W/g, "_")}_${i}.ts`, code)
      })
    }
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
      baseUrl: root,
      paths: { "@adabatch/core": ["packages/core/src/index.ts"] }
    }
    const host = ts.createCompilerHost(options)
    const { fileExists, getSourceFile, readFile } = host
    host.fileExists = (name) => virtual.has(name) || fileExists(name)
    host.readFile = (name) => virtual.get(name) ?? readFile(name)
    host.getSourceFile = (name, version, ...rest) => {
      const code = virtual.get(name)
      return code === undefined ? getSourceFile(name, version, ...rest) : ts.createSourceFile(name, code, version)
    }
    const program = ts.createProgram([...virtual.keys()], options, host)
    const errors = ts.getPreEmitDiagnostics(program).filter((d) => d.file !== undefined && virtual.has(d.file.fileName))
    const text = ts.formatDiagnostics(errors, {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => root,
      getNewLine: () => "\n"
    })
    assert.strictEqual(text, "")
    assert.isAtLeast(virtual.size, 6)
  }, 120_000)
})
