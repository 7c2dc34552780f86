// The DAG webview's HTML: Mermaid (bundled in the .vsix, no network) renders the flowchart that
// `mbt dag --mermaid` prints. Strict CSP: no network, scripts only from the extension with a nonce.
// Pure: the webview's URIs and CSP source are passed in as strings.

import { randomBytes } from 'node:crypto';

export interface DagPage {
  title: string;
  /** The Mermaid flowchart text. */
  source: string;
  /** `webview.asWebviewUri(media/mermaid.min.js)` as a string. */
  mermaidScriptUri: string;
  /** `webview.cspSource`. */
  cspSource: string;
  nonce: string;
}

export function makeNonce(): string {
  return randomBytes(16).toString('base64').replace(/[^A-Za-z0-9]/g, '');
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** For a double-quoted attribute value: single quotes (as in CSP keywords) stay readable. */
export function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * The Content-Security-Policy of the page. Mermaid writes `style` attributes and `<style>` into the
 * SVG, hence `'unsafe-inline'` for styles only; scripts need the nonce, and nothing may connect out.
 */
export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data:`,
    `font-src ${cspSource} data:`,
    `style-src ${cspSource} 'unsafe-inline'`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
}

export function dagHtml(page: DagPage): string {
  if (!/^[A-Za-z0-9+/=]+$/.test(page.nonce)) {
    throw new Error('nonce must be base64 characters');
  }
  const source = escapeHtml(page.source.trim());
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttribute(contentSecurityPolicy(page.cspSource, page.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(page.title)}</title>
<style>
  body { padding: 0 1em; font-family: var(--vscode-font-family, sans-serif); color: var(--vscode-foreground, #333); }
  #diagram svg { max-width: 100%; height: auto; }
  #error { display: none; color: var(--vscode-errorForeground, #c00); white-space: pre-wrap; }
  pre.source { background: var(--vscode-textCodeBlock-background, #f4f4f4); padding: 0.5em; overflow: auto; }
</style>
</head>
<body>
<h3>${escapeHtml(page.title)}</h3>
<div id="diagram"><pre class="mermaid">${source}</pre></div>
<div id="error"></div>
<details><summary>Mermaid source</summary><pre class="source">${source}</pre></details>
<script nonce="${page.nonce}" src="${escapeAttribute(page.mermaidScriptUri)}"></script>
<script nonce="${page.nonce}">
  (function () {
    var classes = document.body.classList;
    var dark = classes.contains('vscode-dark') || classes.contains('vscode-high-contrast');
    var error = document.getElementById('error');
    function fail(message) {
      error.style.display = 'block';
      error.textContent = 'Could not render the DAG: ' + message;
      document.body.setAttribute('data-render', 'failed');
    }
    if (typeof mermaid === 'undefined') { fail('the bundled mermaid.min.js did not load'); return; }
    mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', theme: dark ? 'dark' : 'default' });
    mermaid.run({ querySelector: '#diagram .mermaid' }).then(function () {
      document.body.setAttribute('data-render', 'done');
    }, function (reason) { fail(String(reason && reason.message || reason)); });
  })();
</script>
</body>
</html>
`;
}
