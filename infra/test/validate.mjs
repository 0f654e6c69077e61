// Validates statemachine.asl.json with asl-validator, after filling in the
// SAM placeholders in a temporary copy. Exit status is asl-validator's.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadDefinition } from './definition.mjs';

const require = createRequire(import.meta.url);
const pkg = require.resolve('asl-validator/package.json');
const cli = join(dirname(pkg), require('asl-validator/package.json').bin['asl-validator']);

const dir = mkdtempSync(join(tmpdir(), 'asl-'));
try {
  const file = join(dir, 'statemachine.asl.json');
  writeFileSync(file, JSON.stringify(loadDefinition(), null, 2));
  const res = spawnSync(process.execPath, [cli, '--json-path', file], { stdio: 'inherit' });
  if (res.error) throw res.error;
  process.exitCode = res.status ?? 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
