/**
 * The built-in models, generated on first use so that no download is needed: the graph builder,
 * the spec constants, the tokenizer generator, the English sentence corpus and
 * `ensureBuiltinModel`. Every export carries its own `@since` tag in its module.
 *
 * @since 0.1.0
 */
export { IR_VERSION, makeBertModel, OPSET_VERSION } from "./BertGraph.js"
export type { BertSpec } from "./BertSpec.js"
export { MiniLmL6Spec, parameterCount, TinySpec, validateSpec } from "./BertSpec.js"
export type { BuiltinModelDefinition, BuiltinModelName, BuiltinModelOptions } from "./BuiltinModel.js"
export {
  BUILTIN_GENERATOR_VERSION,
  BUILTIN_MODEL_FILES,
  builtinModelDirectory,
  builtinModels,
  defaultCacheRoot,
  ensureBuiltinModel,
  makeBuiltinModelFiles,
  resolveCacheRoot
} from "./BuiltinModel.js"
export { englishSentences } from "./englishSentences.js"
export type { EnsureOptions, GeneratedFile } from "./GeneratedDirectory.js"
export {
  ensureGeneratedDirectory,
  formatManifest,
  MANIFEST_FILE,
  verifyGeneratedDirectory
} from "./GeneratedDirectory.js"
export type { TokenizerJson, VocabularyOptions } from "./WordPieceTokenizer.js"
export {
  loadEnglishWords,
  makeEnglishTokenizer,
  makeTokenizerConfig,
  makeTokenizerJson,
  makeWordPieceVocabulary,
  SpecialTokens,
  vocabularyCharacters
} from "./WordPieceTokenizer.js"
