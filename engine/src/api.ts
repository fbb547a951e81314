// The engine's public API for embedders (the VS Code extension, benchmarks). The extension imports only
// this module and common/: engine internals can move without touching the extension.
export { writeFileAtomic } from './fsAtomic';
export { renderEvaluationHtml } from './report/htmlReport';
// Reading inputs: prompt files, the binary check, dataset columns (engine/src/input/; rules in docs/cli.md).
export { type PromptFile, paragraphAt, parsePromptFile, readPromptFile } from './input/promptFile';
export { binaryReason } from './input/encoding';
export { datasetColumns, type DatasetPreview, datasetPreview } from './input/dataset';
/** What the readers above throw: a stable code, the file, and a fix worded per surface (`fixFor('editor')`). */
export { SeerError } from './errors';
