// The engine's public API for embedders (the VS Code extension, benchmarks). The extension imports only
// this module and common/: engine internals can move without touching the extension.
export { writeFileAtomic } from './fsAtomic';
export { csvCell, csvRows } from './csv';
// Comparing explanations, A against B, C, … (seer compare; docs/cli.md#compare).
export { type Comparison, compareResults, MAX_COMPARE_SIDES, type WordDiffPart } from './compare';
// Prompt-engineering sessions: the .seer-session.json file (docs/extension.md#sessions).
export {
  addEntries, deleteEntries, emptySession, type ExplainEntry, type GenerationEntry, type GenerationRecord, type GenerationRun, isGenerationEntry,
  readSession, renameSession, type Session, type SessionEntry, SESSION_FILE_NAME, sessionEntryFromGeneration, sessionEntryFromResult,
  sessionToCsv, sessionToJson, steeringText,
} from './sessions/sessionFile';
export { renderEvaluationHtml } from './report/htmlReport';
// Reading inputs: prompt files, the binary check, dataset columns (engine/src/input/; rules in docs/cli.md).
export { type PromptFile, paragraphAt, parsePromptFile, readPromptFile } from './input/promptFile';
export { binaryReason } from './input/encoding';
export { datasetColumns, type DatasetPreview, datasetPreview } from './input/dataset';
// Importing a Hugging Face checkpoint as a bundle (runs the trainer; docs/cli.md#import).
export { checkpointFolderProblem, defaultPython, type ImportDtype, importCheckpoint, type ImportOptions, type ImportResult } from './importer';
// Generation with a live explanation and steering (engine/src/generate.ts; run by Engine.generate).
export { type GenerateOptions, type Generation, type GenerationStep, meanProbability, type SteeringTerm, type StopReason } from './generate';
/** What the readers above throw: a stable code, the file, and a fix worded per surface (`fixFor('editor')`). */
export { SeerError } from './errors';
