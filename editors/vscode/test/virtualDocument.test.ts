import assert from 'node:assert/strict';
import { test } from 'node:test';

import { failureDocument, parseResolvedQuery, RESOLVED_SCHEME, resolvedUriParts } from '../src/virtualDocument';

test('resolved URIs round-trip pipeline and project, including odd characters', () => {
  const target = { pipeline: 'churn v1&x', projectDir: '/my projects/a?b#c' };
  const parts = resolvedUriParts(target);
  assert.equal(parts.scheme, RESOLVED_SCHEME);
  assert.equal(parts.path, '/churn v1&x.resolved.yaml');
  assert.deepEqual(parseResolvedQuery(parts.query), target);
});

test('incomplete queries are refused', () => {
  assert.equal(parseResolvedQuery(''), undefined);
  assert.equal(parseResolvedQuery('pipeline=a'), undefined);
  assert.equal(parseResolvedQuery('pipeline=&projectDir=/p'), undefined);
});

test('a failure is shown as YAML comments', () => {
  assert.equal(
    failureDocument('mbt validate --show-resolved -- a', 'MBT: resolve a failed (errors reported)', '[MBT1008] Error: x\n\n  help: y\n'),
    '# mbt validate --show-resolved -- a\n# MBT: resolve a failed (errors reported)\n#\n# [MBT1008] Error: x\n#\n#   help: y\n',
  );
});
