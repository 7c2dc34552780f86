import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

import { contentSecurityPolicy, dagHtml, escapeHtml, makeNonce } from '../src/dagHtml';

const page = {
  title: 'DAG: churn',
  source: 'graph TD\n    load_data[load_data]\n    load_data --> split_data\n',
  mermaidScriptUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/media/mermaid.min.js',
  cspSource: 'https://*.vscode-cdn.net',
  nonce: 'abc123XYZ',
};

test('escapeHtml escapes markup and quotes', () => {
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
});

test('the CSP allows no network and scripts only with the nonce', () => {
  const csp = contentSecurityPolicy(page.cspSource, page.nonce);
  assert.match(csp, /^default-src 'none';/);
  assert.match(csp, /script-src 'nonce-abc123XYZ'$/);
  assert.doesNotMatch(csp, /unsafe-eval/);
  assert.doesNotMatch(csp, /connect-src/);
  assert.doesNotMatch(csp, /script-src[^;]*unsafe-inline/);
});

test('the page loads the bundled mermaid and renders the escaped source', () => {
  const html = dagHtml(page);
  assert.ok(html.includes(`<meta http-equiv="Content-Security-Policy" content="default-src 'none';`));
  assert.ok(html.includes(`<script nonce="abc123XYZ" src="${page.mermaidScriptUri}"></script>`));
  assert.ok(html.includes('<pre class="mermaid">graph TD\n    load_data[load_data]\n    load_data --&gt; split_data</pre>'));
  assert.ok(html.includes("securityLevel: 'strict'"));
  assert.ok(html.includes('<title>DAG: churn</title>'));
  // Every script carries the nonce; nothing is loaded from the network.
  const scripts = html.match(/<script\b[^>]*>/g) ?? [];
  assert.equal(scripts.length, 2);
  for (const tag of scripts) {
    assert.match(tag, /nonce="abc123XYZ"/);
  }
  const withoutGiven = html.split(page.mermaidScriptUri).join('').split(page.cspSource).join('');
  assert.doesNotMatch(withoutGiven, /https?:|\/\//);
});

test('markup in the source or title cannot inject elements', () => {
  const html = dagHtml({ ...page, title: '<img src=x onerror=alert(1)>', source: 'graph TD\n a["</pre><script>alert(1)</script>"]' });
  assert.equal((html.match(/<script\b/g) ?? []).length, 2);
  assert.doesNotMatch(html, /<img/);
});

test('nonces are fresh base64 words, and a bad nonce is refused', () => {
  const first = makeNonce();
  assert.match(first, /^[A-Za-z0-9]{16,}$/);
  assert.notEqual(first, makeNonce());
  assert.throws(() => dagHtml({ ...page, nonce: `x' 'unsafe-inline` }));
});

// The page as a browser runs it: the bundled mermaid.min.js, the real CSP, no network.
// Needs Chromium (Debian's `chromium`) on PATH and media/mermaid.min.js (npm run copy-assets).

const chromium = ['chromium', 'chromium-browser', 'google-chrome']
  .flatMap((name) => (process.env.PATH ?? '').split(path.delimiter).map((directory) => path.join(directory, name)))
  .find((candidate) => fs.existsSync(candidate));
const mermaidScript = path.resolve(__dirname, '..', 'media', 'mermaid.min.js');
// scripts/test.sh installs Chromium and sets MBT_REQUIRE_BROWSER=1: there (and in CI) a missing
// browser fails the test instead of skipping it.
const required = process.env.MBT_REQUIRE_BROWSER === '1';
const browserSkip = required ? false : chromium === undefined ? 'no chromium on PATH' : !fs.existsSync(mermaidScript) ? 'no media/mermaid.min.js (npm run copy-assets)' : false;

test('headless Chromium renders the DAG under the CSP', { skip: browserSkip, timeout: 90_000 }, async () => {
  assert.ok(chromium !== undefined, 'no chromium on PATH (Debian: apt-get install chromium)');
  assert.ok(fs.existsSync(mermaidScript), 'no media/mermaid.min.js (npm run copy-assets)');
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'mbt-dag-'));
  try {
    fs.copyFileSync(mermaidScript, path.join(directory, 'mermaid.min.js'));
    const html = dagHtml({ ...page, mermaidScriptUri: `file://${directory}/mermaid.min.js`, cspSource: 'file:', nonce: makeNonce() });
    fs.writeFileSync(path.join(directory, 'index.html'), html);
    const dom = await new Promise<string>((resolve, reject) =>
      execFile(
        chromium!,
        ['--headless=new', '--no-sandbox', '--disable-gpu', `--user-data-dir=${path.join(directory, 'profile')}`, '--virtual-time-budget=10000', '--dump-dom', `file://${directory}/index.html`],
        { timeout: 80_000, maxBuffer: 16 * 1024 * 1024 },
        (error, stdout) => (error ? reject(error) : resolve(stdout)),
      ),
    );
    assert.match(dom, /<body data-render="done">/);
    assert.match(dom, /<svg[^>]*aria-roledescription="flowchart/);
    assert.match(dom, />split_data</);
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
});
