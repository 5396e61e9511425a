// The stylesheet parses as written: an unclosed block (a brace lost in a merge) silently turns
// every rule after it into an invalid nested rule, which the browser drops without a word.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

test('style.css closes every block it opens, in order', () => {
  const css = readFileSync(new URL('../style.css', import.meta.url), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  let line = 1;
  /** @type {number[]} */
  const opened = [];
  for (const ch of css) {
    if (ch === '\n') line++;
    else if (ch === '{') opened.push(line);
    else if (ch === '}') assert.ok(opened.pop() !== undefined, `a } on line ${line} closes nothing`);
  }
  assert.deepEqual(opened, [], `blocks opened on lines ${opened.join(', ')} are never closed`);
});
