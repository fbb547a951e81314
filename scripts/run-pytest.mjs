// `npm run test:trainer`: the trainer's pytest suite with Debian's /usr/bin/python3 (the one apt's
// python3-torch serves). Skips with a reason when a module the trainer or its tests import is missing,
// so `npm test` works on a machine with Node only. Temporary files go to one folder per run, removed
// at the end. Extra arguments go to pytest.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const python = process.env.SEER_PYTHON ?? '/usr/bin/python3';
const say = (m) => console.log(`[test:trainer] ${m}`);

// The modules imported at the top of any trainer file (read with Python's own parser, so a new import
// is probed without editing a list), less the standard library and the trainer's own modules; each is
// imported, so a broken install counts as missing too. Prints "module: error" per missing module.
const PROBE = String.raw`
import ast, importlib, pathlib, sys
root = pathlib.Path(sys.argv[1])
own = {p.stem for p in root.rglob("*.py")} | {p.parent.name for p in root.rglob("__init__.py")}
wanted = set()
for p in root.rglob("*.py"):
    for node in ast.parse(p.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            wanted |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            wanted.add(node.module.split(".")[0])
for name in sorted(wanted - own - set(getattr(sys, "stdlib_module_names", ()))):
    try:
        importlib.import_module(name)
    except Exception as e:
        print(f"{name}: {type(e).__name__}: {e}".splitlines()[0])
`;

if (!existsSync(python)) {
  say(`SKIPPED: ${python} not found (set SEER_PYTHON to another Python 3 with torch).`);
  process.exit(0);
}
const probe = spawnSync(python, ['-c', PROBE, path.join(root, 'trainer')], { encoding: 'utf8' });
if (probe.status !== 0) {
  console.error(`[test:trainer] the import probe failed: ${(probe.stderr || probe.error?.message || '').trim()}`);
  process.exit(1);
}
const missing = probe.stdout.split('\n').filter(Boolean);
if (missing.length) {
  const modules = missing.map((m) => m.split(':')[0]);
  say(`SKIPPED: ${python} cannot import ${modules.join(', ')} (${missing.join('; ')}).`);
  // Debian names the package of Python module m python3-m (torch: python3-torch, regex: python3-regex).
  say(`Install them with: sudo apt-get install ${modules.map((m) => `python3-${m}`).join(' ')}`);
  process.exit(0);
}

const runTmp = mkdtempSync(path.join(tmpdir(), 'seer-pytest-'));
let status;
try {
  const run = spawnSync(python, ['-m', 'pytest', '-q', `--basetemp=${path.join(runTmp, 'basetemp')}`, 'trainer/tests', ...process.argv.slice(2)], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, PYTHONPATH: 'trainer', TMPDIR: runTmp },
  });
  status = run.status ?? 1;
} finally {
  rmSync(runTmp, { recursive: true, force: true });
}
// pytest's exit code 5: no test was collected (e.g. a -k filter that matches none); not a failure.
if (status === 5) say('no trainer test matched; nothing ran.');
process.exit(status === 5 ? 0 : status);
