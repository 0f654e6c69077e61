// Unit tests of the UI's pure modules (no browser): input parsing and
// validation, formatting, and the polling store.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { formatIssue, parseCSV, previewCSV, rowsFromJSON, MAX_ROWS, PREVIEW_ROWS } from '../../web/static/js/input.js';
import { formatDuration, formatMoney, formatValue } from '../../web/static/js/format.js';

const F = ['feature_0', 'feature_1'];

test('parseCSV handles quotes, CRLF, BOM and blank lines', () => {
  const { records } = parseCSV('\ufeffa,b\r\n"x, y","say ""hi"""\r\n\r\n"multi\nline",2\n');
  assert.deepEqual(
    records.map((r) => r.fields),
    [['a', 'b'], ['x, y', 'say "hi"'], ['multi\nline', '2']],
  );
  assert.deepEqual(records.map((r) => r.line), [1, 2, 4]);
  assert.match(parseCSV('a\n"open').error, /line 2/);
});

test('parseCSV detects semicolons', () => {
  assert.equal(parseCSV('a;b\n1;2').delimiter, ';');
});

test('previewCSV shows the header and the first rows, as text, unchecked', () => {
  const csv = `id,feature_0,feature_1\n${Array.from({ length: 8 }, (_, i) => `${i + 1},0.${i},x${i}`).join('\n')}\n`;
  const p = previewCSV(csv);
  assert.deepEqual(p.header, ['id', 'feature_0', 'feature_1']);
  assert.equal(p.rows.length, PREVIEW_ROWS);
  assert.deepEqual(p.rows[0], ['1', '0.0', 'x0'], 'cells stay text: nothing is converted');
  assert.equal(p.more, true);
  const small = previewCSV('feature_0,feature_1\n1,\n', { maxRows: 5 });
  assert.deepEqual(small.rows, [['1', '']], 'a bad row is shown as it is; the server judges it');
  assert.equal(small.more, false);
});

test('previewCSV of the start of a long file drops the row cut off', () => {
  const head = 'feature_0,feature_1\n1,2\n3,4\n5,6'; // the file goes on after "5,6"
  const p = previewCSV(head, { complete: false });
  assert.deepEqual(p.rows, [['1', '2'], ['3', '4']]);
  assert.equal(p.more, true, 'says there is more');
  assert.deepEqual(previewCSV('feature_0,featu', { complete: false }), { header: [], rows: [], more: true });
  assert.deepEqual(previewCSV(''), { header: [], rows: [], more: false });
});

test('rowsFromJSON checks types and keeps the input as typed', () => {
  const one = rowsFromJSON('{"feature_0": 1, "feature_1": 2}', F);
  assert.equal(one.total, 1);
  assert.deepEqual(one.inputData, { feature_0: 1, feature_1: 2 });
  const r = rowsFromJSON('[{"feature_0": 1, "feature_1": "2"}, 3, {"feature_0": null, "feature_1": 1e999}]', F);
  assert.deepEqual(r.errors.map(formatIssue), [
    'Row 1, feature_1: must be a number, not text ("2")',
    'Row 2: is number, not an object',
    'Row 3, feature_0: must be a number, not null',
    'Row 3, feature_1: is not a finite number',
  ]);
  assert.match(rowsFromJSON('{', F).errors[0].message, /not valid JSON/);
  assert.match(rowsFromJSON('[]', F).errors[0].message, /empty/);
  assert.match(rowsFromJSON('"x"', F).errors[0].message, /Expected an object/);
  assert.equal(rowsFromJSON('  ', F).total, 0);
});

test('formatting', () => {
  assert.equal(formatMoney(1234.5), '1,234.50');
  assert.equal(formatMoney(0), '0.00');
  assert.equal(formatValue(0.123456789), '0.123457');
  assert.equal(formatValue(-1234.5), '-1234.5');
  assert.equal(formatValue(0), '0');
  assert.equal(formatValue(1e-7), '1.0000e-7');
  assert.equal(formatValue(12345678), '1.2346e+7');
  assert.equal(formatDuration(4200), '4 s');
  assert.equal(formatDuration(65000), '1 min 5 s');
  assert.equal(formatDuration(7_260_000), '2 h 1 min');
});
