// Where a file sits in an MBT project, as the language server describes it (`mbt/describeFile`):
// the project root, the pipeline name and the file's kind come from the same code as `mbt`'s
// (root search, pipeline-name and skip rules), so the commands select the pipeline `mbt` would.
// Nothing here re-implements those rules. Pure: no `vscode`, no I/O.

/** The server's custom request; params `{ textDocument: { uri } }`, result `FileDescription | null`. */
export const DESCRIBE_FILE_METHOD = 'mbt/describeFile';

export type FileKind = 'pipeline' | 'base' | 'include' | 'profiles' | 'test' | 'other';

const FILE_KINDS: readonly string[] = ['pipeline', 'base', 'include', 'profiles', 'test', 'other'];

/** The server's answer for a file inside a project (`null` for a file in no project). */
export interface FileDescription {
  /** The project root, absolute. */
  root: string;
  /** Project-relative, `/`-separated. */
  relative: string;
  kind: FileKind;
  /** The pipeline name for `pipeline` and `base` files, else null. */
  pipeline: string | null;
}

export interface DescribeFileParams {
  textDocument: { uri: string };
}

export function describeFileParams(uri: string): DescribeFileParams {
  return { textDocument: { uri } };
}

export function isFileDescription(value: unknown): value is FileDescription {
  if (value === null || typeof value !== 'object') {
    return false;
  }
  const candidate = value as Record<string, unknown>;
  return (
    typeof candidate.root === 'string' &&
    typeof candidate.relative === 'string' &&
    typeof candidate.kind === 'string' &&
    FILE_KINDS.includes(candidate.kind) &&
    (candidate.pipeline === null || typeof candidate.pipeline === 'string')
  );
}

/** The pipeline a command runs, or what to tell the user instead. */
export type PipelineChoice =
  | { ok: true; pipeline: string; projectDir: string }
  | { ok: false; level: 'warning' | 'error'; message: string };

/**
 * The pipeline and project of the file the server described (`answer`, unchecked);
 * `shownPath` names the file in messages when the server knows no project for it.
 */
export function choosePipeline(answer: unknown, shownPath: string): PipelineChoice {
  if (answer === null || answer === undefined) {
    return {
      ok: false,
      level: 'warning',
      message: `MBT: ${shownPath} is not in an MBT project (no profiles.yaml, or pyproject.toml beside pipelines/, in its folder or above).`,
    };
  }
  if (!isFileDescription(answer)) {
    return {
      ok: false,
      level: 'error',
      message: `MBT: unexpected answer from the language server to ${DESCRIBE_FILE_METHOD}: ${JSON.stringify(answer)}`,
    };
  }
  if (answer.pipeline === null || answer.pipeline === '') {
    return { ok: false, level: 'warning', message: `MBT: ${answer.relative} is not a pipeline: open a file under pipelines/.` };
  }
  return { ok: true, pipeline: answer.pipeline, projectDir: answer.root };
}
