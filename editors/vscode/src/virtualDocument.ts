// URIs of the read-only "resolved pipeline" documents: `mbt-resolved:/<pipeline>.resolved.yaml?<query>`.
// The query carries what the content provider needs to run `mbt validate --show-resolved` again.
// Pure: builds and parses the URI parts as strings.

export const RESOLVED_SCHEME = 'mbt-resolved';

export interface ResolvedTarget {
  pipeline: string;
  projectDir: string;
}

export function resolvedUriParts(target: ResolvedTarget): { scheme: string; path: string; query: string } {
  return {
    scheme: RESOLVED_SCHEME,
    path: `/${target.pipeline}.resolved.yaml`,
    query: new URLSearchParams({ pipeline: target.pipeline, projectDir: target.projectDir }).toString(),
  };
}

export function parseResolvedQuery(query: string): ResolvedTarget | undefined {
  const params = new URLSearchParams(query);
  const pipeline = params.get('pipeline');
  const projectDir = params.get('projectDir');
  if (pipeline === null || pipeline === '' || projectDir === null || projectDir === '') {
    return undefined;
  }
  return { pipeline, projectDir };
}

/** The document text when the CLI failed: its messages as YAML comments, so the view stays YAML. */
export function failureDocument(command: string, message: string, stderr: string): string {
  const lines = [`# ${command}`, `# ${message}`, '#'];
  for (const line of stderr.split(/\r?\n/)) {
    lines.push(line === '' ? '#' : `# ${line}`);
  }
  return lines.join('\n').replace(/(\n#)+$/, '') + '\n';
}
