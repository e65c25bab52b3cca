// A teacher's homework built from the README's "Adding an exercise" example, exactly as written there
// (so the example cannot rot): the checks file and the notebook cells are its code blocks, in order.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from './helpers.mjs';

/** The code blocks of the README's "### Adding an exercise" section: { checks, setup, solution, check }. */
export function readmeExample() {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('### Adding an exercise');
  if (start < 0) throw new Error('README.md has no "### Adding an exercise" section');
  const end = readme.indexOf('\n## ', start);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const blocks = [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], code: m[2] }));
  const langs = blocks.map((b) => b.lang).join(' ');
  if (langs !== 'js ts ts ts') throw new Error(`README's "Adding an exercise": expected code blocks js ts ts ts (checks file, setup, function, check); found ${langs}`);
  const heading = /`(## Exercise 1 · [^`]+)`/.exec(section)?.[1];
  if (!heading) throw new Error('README\'s "Adding an exercise" names no "## Exercise 1 · … (N points)" heading');
  return { checks: blocks[0].code, setup: blocks[1].code, solution: blocks[2].code, check: blocks[3].code, heading };
}

const code = (id, source) => ({ cell_type: 'code', id, metadata: {}, source, outputs: [], execution_count: null });
const md = (id, source) => ({ cell_type: 'markdown', id, metadata: {}, source });

/** The homework notebook of the example; `solution` may be replaced (a wrong submission). */
export function exampleNotebook(ex, { solution = ex.solution } = {}) {
  const points = /\((\d+) points?\)/.exec(ex.heading)[1];
  return {
    nbformat: 4, nbformat_minor: 5,
    metadata: {
      kernelspec: { display_name: 'TypeScript (rnn-lab)', language: 'typescript', name: 'rnn-lab' },
      language_info: { file_extension: '.ts', mimetype: 'text/typescript', name: 'typescript' },
      'rnn-lab': { homework: 'hw4-gru', summary: 'Homework 4: the GRU step' },
    },
    cells: [
      md('title', `# Homework 4 · The GRU step\n\n| exercise | function | points |\n|---|---|---|\n| 1 · GRU step forward | \`gruStepForward\` | ${points} |\n| **total** | | **${points}** |\n`),
      code('setup', ex.setup),
      md('ex1', `${ex.heading}\n\nWrite \`gruStepForward\`.`),
      code('fn1', solution),
      code('check1', ex.check),
    ],
  };
}

/**
 * A homework folder outside the project, as a teacher's copy: <tmp>/hw/hw4-gru.ipynb and its checks file,
 * with <tmp>/node_modules linked to the project's (so `require('rnn-lab')` resolves as in homework/).
 */
export function makeExampleHomework(ex = readmeExample()) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-teacher-'));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(tmp, 'node_modules'), 'dir');
  const dir = path.join(tmp, 'hw');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'hw4-gru.checks.cjs'), ex.checks);
  fs.writeFileSync(path.join(dir, 'hw4-gru.ipynb'), JSON.stringify(exampleNotebook(ex), null, 1));
  return { tmp, dir, ex };
}
