// Where a file sits in an MBT project: the project root and the pipeline name.
// Mirrors the CLI (src/host.rs `find_root`, compiler `pipeline_name` and `project::is_skipped_entry`)
// so the commands select the same pipeline `mbt` would. Pure: file existence is passed in.

import * as path from 'node:path';

/** Markers of a project root, as in `find_root`: the nearest ancestor holding one of them. */
export const ROOT_MARKERS = ['profiles.yaml', 'pyproject.toml'];

/** Directories the CLI never loads sources from (compiler/src/project.rs SKIPPED_DIRS). */
export const SKIPPED_DIRS = ['target', 'local_artifacts', 'local_registry', 'node_modules', '__pycache__', 'predictions', 'dags'];

export type FileKind = 'pipeline' | 'base' | 'include' | 'profiles' | 'test' | 'other';

export interface ProjectFile {
  root: string;
  /** Project-relative, `/`-separated. */
  relative: string;
  kind: FileKind;
  /** The pipeline name (file stem) for `pipeline` and `base` files. */
  pipeline: string | undefined;
}

/** The nearest ancestor directory of `file` holding profiles.yaml or pyproject.toml. */
export function findProjectRoot(file: string, isFile: (candidate: string) => boolean, pathApi: path.PlatformPath = path): string | undefined {
  let directory = pathApi.dirname(pathApi.resolve(file));
  for (;;) {
    if (ROOT_MARKERS.some((marker) => isFile(pathApi.join(directory, marker)))) {
      return directory;
    }
    const parent = pathApi.dirname(directory);
    if (parent === directory) {
      return undefined;
    }
    directory = parent;
  }
}

export function describeFile(file: string, isFile: (candidate: string) => boolean, pathApi: path.PlatformPath = path): ProjectFile | undefined {
  const root = findProjectRoot(file, isFile, pathApi);
  if (root === undefined) {
    return undefined;
  }
  const relative = pathApi.relative(root, pathApi.resolve(file)).split(pathApi.sep).join('/');
  const pipeline = pipelineName(relative);
  let kind: FileKind;
  if (pipeline !== undefined) {
    kind = pipeline.startsWith('_') ? 'base' : 'pipeline';
  } else if (relative === 'profiles.yaml') {
    kind = 'profiles';
  } else if (/^tests\/[^/]+\.test\.ya?ml$/.test(relative)) {
    kind = 'test';
  } else if (relative.startsWith('includes/')) {
    kind = 'include';
  } else {
    kind = 'other';
  }
  return { root, relative, kind, pipeline };
}

/** The pipeline name of a project-relative path under `pipelines/` (its stem), as the compiler computes it. */
export function pipelineName(relative: string): string | undefined {
  const components = relative.split('/');
  if (components.length < 2 || components[0] !== 'pipelines') {
    return undefined;
  }
  const fileName = components[components.length - 1];
  const directories = components.slice(0, -1);
  if (fileName.startsWith('.') || directories.some((directory) => directory === '' || directory.startsWith('.') || SKIPPED_DIRS.includes(directory))) {
    return undefined;
  }
  const match = /^(.+)\.ya?ml$/.exec(fileName);
  return match === null ? undefined : match[1];
}
