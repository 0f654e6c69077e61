// Unit tests of the UI's pure modules (no browser): input parsing and
// validation, formatting, and the polling store.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { formatIssue, parseCSV, parseNumber, rowsFromCSV, rowsFromJSON, MAX_ROWS } from '../../web/static/js/input.js';
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

test('parseNumber accepts only finite decimal numbers', () => {
  for (const [cell, want] of [['1', 1], [' -2.5 ', -2.5], ['.5', 0.5], ['1e3', 1000], ['+3.', 3]]) {
    assert.equal(parseNumber(cell).value, want, cell);
  }
  for (const [cell, want] of [['', /missing/], [undefined, /missing/], ['abc', /not a number/], ['NaN', /not a number/], ['Infinity', /not a number/], ['1e999', /not a finite/], ['0x10', /not a number/]]) {
    assert.match(parseNumber(cell).error, want, String(cell));
  }
});

test('rowsFromCSV names row, line and field of each problem', () => {
  const r = rowsFromCSV('id,feature_0,feature_1\n1,0.1,0.2\n2,,x\n3,5,6\n', F);
  assert.equal(r.total, 3);
  assert.deepEqual(r.ignored, ['id']);
  assert.deepEqual(r.errors.map(formatIssue), ['Row 2 (line 3), feature_0: is missing', 'Row 2 (line 3), feature_1: is not a number ("x")']);
  assert.deepEqual(r.rows[0], { feature_0: 0.1, feature_1: 0.2 });
});

test('rowsFromCSV sends only the model features, as numbers', () => {
  const r = rowsFromCSV('feature_1,feature_0,extra\n2,1,z\n', F);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.inputData, [{ feature_0: 1, feature_1: 2 }]);
});

test('rowsFromCSV whole-file problems', () => {
  assert.match(rowsFromCSV('', F).errors[0].message, /empty/);
  assert.match(rowsFromCSV('feature_0\n1\n', F).errors[0].message, /no column feature_1/);
  assert.match(rowsFromCSV('feature_0,feature_1\n', F).errors[0].message, /no rows/);
  const big = `feature_0,feature_1\n${'1,2\n'.repeat(MAX_ROWS + 1)}`;
  assert.match(rowsFromCSV(big, F).errors[0].message, /at most 10,000/);
  assert.equal(rowsFromCSV(`feature_0,feature_1\n${'1,2\n'.repeat(MAX_ROWS)}`, F).errors.length, 0);
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
