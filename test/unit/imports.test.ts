/**
 * The import check `npm run lint` runs (scripts/check-imports.ts): the real tree passes, and a
 * planted bad import of each kind is found with its file and line.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkImports } from '../../scripts/check-imports.js';

describe('import check', () => {
  const root = mkdtempSync(join(tmpdir(), 'porthole-imports-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };

  it("passes on porthole's own tree", () => {
    assert.deepEqual(checkImports('src'), []);
  });

  it('finds a private import, a climb up the layers, a circle and a command importing another', () => {
    write('net/index.ts', "export { parseIp } from './address.js';\n");
    write('net/address.ts', 'export const parseIp = 1;\n');
    write('gateway/index.ts', 'export const g = 1;\n');
    write('gateway/discovery.ts', "import { parseIp } from '../net/address.js';\nexport const d = parseIp;\n");
    write('net/localNetwork.ts', "import { g } from '../gateway/index.js';\nexport const l = g;\n");
    write('probe/a.ts', "import { b } from './b.js';\nexport const a = b;\n");
    write('probe/b.ts', "import type { a } from './a.js';\nexport const b = 1 as unknown as typeof a;\n");
    write('cli/commands/expose.ts', "import { x } from './doctor.js';\nexport const e = x;\n");
    write('cli/commands/doctor.ts', 'export const x = 1;\n');
    write('cli/commands/check.ts', "import { f } from './checkFleet.js';\nexport const c = f;\n");
    write('cli/commands/checkFleet.ts', 'export const f = 1;\n');
    const problems = checkImports(root);
    assert.ok(
      problems.some((p) => /gateway\/discovery\.ts:1: imports net\/address\.ts past the folder's face/.test(p)),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => /net\/localNetwork\.ts:1: net \(layer 3\) imports gateway \(layer 6\)/.test(p)),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => /import circle: .*probe\/a\.ts → .*probe\/b\.ts → .*probe\/a\.ts/.test(p)),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => /cli\/commands\/expose\.ts:1: the expose command imports the doctor command/.test(p)),
      problems.join('\n'),
    );
    assert.ok(!problems.some((p) => /check\.ts/.test(p)), 'a command may import its own parts');
    assert.equal(problems.length, 4, problems.join('\n'));
  });
});
