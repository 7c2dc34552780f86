import assert from 'node:assert/strict';
import { test } from 'node:test';

import { resolveExecutable, ResolveEnvironment } from '../src/binary';

function posix(executables: string[], pathVariable = '/usr/local/bin:/usr/bin:/home/u/.cargo/bin'): ResolveEnvironment {
  return {
    platform: 'linux',
    pathVariable,
    pathExtVariable: undefined,
    baseDirectory: '/work/project',
    isExecutable: (file) => executables.includes(file),
  };
}

test('a bare name is found on PATH, first directory wins', () => {
  assert.deepEqual(resolveExecutable('mbt', posix(['/home/u/.cargo/bin/mbt', '/usr/bin/mbt'])), { found: true, path: '/usr/bin/mbt' });
});

test('a missing bare name lists the searched places and says how to fix it', () => {
  const resolution = resolveExecutable('mbt', posix([]));
  assert.equal(resolution.found, false);
  if (resolution.found) return;
  assert.deepEqual(resolution.searched, ['/usr/local/bin/mbt', '/usr/bin/mbt', '/home/u/.cargo/bin/mbt']);
  assert.match(resolution.message, /"mbt" was not found on PATH/);
  assert.match(resolution.message, /mbt\.server\.path/);
  assert.match(resolution.message, /cargo install --path \./);
});

test('empty PATH entries are ignored and an unset PATH finds nothing', () => {
  assert.deepEqual(resolveExecutable('mbt', posix(['/usr/bin/mbt'], '::/usr/bin:')), { found: true, path: '/usr/bin/mbt' });
  const resolution = resolveExecutable('mbt', { ...posix(['/usr/bin/mbt']), pathVariable: undefined });
  assert.equal(resolution.found, false);
});

test('an absolute configured path is checked as is, not on PATH', () => {
  assert.deepEqual(resolveExecutable('/opt/mbt/bin/mbt', posix(['/opt/mbt/bin/mbt'])), { found: true, path: '/opt/mbt/bin/mbt' });
  const resolution = resolveExecutable('/opt/none/mbt', posix(['/usr/bin/mbt']));
  assert.equal(resolution.found, false);
  if (resolution.found) return;
  assert.deepEqual(resolution.searched, ['/opt/none/mbt']);
  assert.match(resolution.message, /"\/opt\/none\/mbt" \(from the mbt\.server\.path setting\) does not exist or is not executable/);
});

test('a relative configured path starts from the workspace folder', () => {
  assert.deepEqual(resolveExecutable('target/debug/mbt', posix(['/work/project/target/debug/mbt'])), { found: true, path: '/work/project/target/debug/mbt' });
  assert.deepEqual(resolveExecutable('./bin/mbt', posix(['/work/project/bin/mbt'])), { found: true, path: '/work/project/bin/mbt' });
});

test('windows: PATHEXT extensions and ; separators', () => {
  const environment: ResolveEnvironment = {
    platform: 'win32',
    pathVariable: 'C:\\Windows;C:\\Users\\u\\.cargo\\bin',
    pathExtVariable: '.COM;.EXE;.BAT',
    baseDirectory: 'C:\\work',
    isExecutable: (file) => file === 'C:\\Users\\u\\.cargo\\bin\\mbt.exe',
  };
  assert.deepEqual(resolveExecutable('mbt', environment), { found: true, path: 'C:\\Users\\u\\.cargo\\bin\\mbt.exe' });
  assert.deepEqual(resolveExecutable('C:\\Users\\u\\.cargo\\bin\\mbt', environment), { found: true, path: 'C:\\Users\\u\\.cargo\\bin\\mbt.exe' });
});
