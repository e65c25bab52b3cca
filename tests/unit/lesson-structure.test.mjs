// Issue 14: every lesson ends like a textbook section (summary, exercises with answers and at least one
// derivation, references with years) and cites papers and books instead of "the slide" or deck numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listNotebooks } from '../../scripts/lib/jupyter.mjs';

const lessons = listNotebooks().map((f) => ({ name: path.basename(f), nb: JSON.parse(fs.readFileSync(f, 'utf8')) }));
const md = (nb) => nb.cells.filter((c) => c.cell_type === 'markdown').map((c) => [].concat(c.source).join(''));
const section = (nb, heading) => md(nb).find((s) => s.startsWith(`## ${heading}`));

for (const { name, nb } of lessons) {
  test(`${name}: ends with Summary, Exercises (3–5, answers, a derivation) and References (with years)`, () => {
    const summary = section(nb, 'Summary');
    assert.ok(summary, 'a markdown cell starting "## Summary"');
    const bullets = summary.split('\n').filter((l) => /^\s*[-*] /.test(l)).length;
    assert.ok(bullets >= 3 && bullets <= 6, `the summary has ${bullets} bullet points (3–6)`);

    const ex = section(nb, 'Exercises');
    assert.ok(ex, 'a markdown cell starting "## Exercises"');
    const items = ex.split('\n').filter((l) => /^\d+\.\s/.test(l));
    assert.ok(items.length >= 3 && items.length <= 5, `${items.length} numbered exercises (3–5)`);
    const answers = (ex.match(/<details>\s*<summary>Answer<\/summary>/g) ?? []).length;
    assert.equal(answers, items.length, `each exercise has its answer in <details><summary>Answer</summary>: ${answers} answers for ${items.length} exercises`);
    assert.equal((ex.match(/<\/details>/g) ?? []).length, answers, 'every <details> is closed');
    assert.ok(items.some((l) => /^\d+\.\s+\*\*Derivation\.\*\*/.test(l)), 'at least one exercise is a **Derivation.**');

    const refs = section(nb, 'References');
    assert.ok(refs, 'a markdown cell starting "## References"');
    const entries = refs.split('\n').filter((l) => /^\s*[-*] /.test(l));
    assert.ok(entries.length >= 2, `${entries.length} references`);
    // Software documentation is cited by name; everything else (papers, books, data) by year.
    const undated = entries.filter((l) => !/\b(19|20)\d\d\b/.test(l) && !/documentation/i.test(l));
    assert.deepEqual(undated, [], 'every reference has its year');
    const order = ['Summary', 'Exercises', 'References'].map((h) => md(nb).findIndex((s) => s.startsWith(`## ${h}`)));
    assert.deepEqual([...order].sort((a, b) => a - b), order, 'in this order');
  });

  test(`${name}: cites sources, not deck numbers or "the slide"`, () => {
    const text = md(nb).join('\n');
    const bad = [...text.matchAll(/\b(seeds? 00\d|the slides?\b|slide \d+|the lecture says)/gi)].map((m) => m[0]);
    assert.deepEqual(bad, []);
  });
}

test('the README lists every lesson with the summary its metadata gives (the course index uses the same)', () => {
  const readme = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const { name, nb } of lessons) {
    const base = name.replace(/\.ipynb$/, '');
    const summary = nb.metadata?.['rnn-lab']?.summary;
    assert.ok(summary, `${name}: metadata rnn-lab.summary`);
    assert.ok(readme.includes(`| [\`${base}\`](notebooks/${name}) | ${summary} |`), `README's row for ${base} does not match its summary: ${summary}`);
  }
});
