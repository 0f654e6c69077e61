// Runs the state machine (through run-workflow.mjs, as the end-to-end tests
// do) against stub Lambda endpoints, to prove its Retry and Catch rules.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { definitionPath, loadDefinition } from './definition.mjs';

const script = fileURLToPath(new URL('./run-workflow.mjs', import.meta.url));
const input = { prediction_id: 'p-1', delay_seconds: 12 };

// Responses a stub Lambda can give, as aws-lambda-rie gives them.
const ok = (payload) => ({ body: payload });
const fnError = (errorType, errorMessage) => ({ body: { errorMessage, errorType } });
const httpError = (status) => ({ status, body: { message: 'service unavailable' } });

// stubLambda serves one response per invocation, repeating the last one, and
// records each event it receives.
function stubLambda(...responses) {
  const stub = { events: [], url: '' };
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (chunk) => (data += chunk));
    req.on('end', () => {
      stub.events.push(JSON.parse(data));
      const r = responses[Math.min(stub.events.length, responses.length) - 1];
      res.writeHead(r.status ?? 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(r.body));
    });
  });
  stub.start = () =>
    new Promise((resolve) => {
      server.listen(0, '127.0.0.1', () => {
        stub.url = `http://127.0.0.1:${server.address().port}/2015-03-31/functions/function/invocations`;
        resolve(stub);
      });
    });
  stub.close = () => new Promise((resolve) => server.close(resolve));
  return stub;
}

// run starts both stubs, runs the workflow script once and returns its summary.
async function run(inference, failure, env = {}) {
  await Promise.all([inference.start(), failure.start()]);
  try {
    const child = spawn(process.execPath, [script, JSON.stringify(input)], {
      env: { ...process.env, INFERENCE_URL: inference.url, FAILURE_URL: failure.url, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 0, `run-workflow exit ${code}: ${stderr}`);
    return JSON.parse(stdout);
  } finally {
    await Promise.all([inference.close(), failure.close()]);
  }
}

const failed = { prediction_id: 'p-1' };

describe('state machine', () => {
  test('success ends in Done with the input as output, one inference', async () => {
    const inference = stubLambda(ok(failed));
    const failure = stubLambda(ok(failed));
    const got = await run(inference, failure);
    assert.equal(got.status, 'SUCCEEDED');
    assert.deepEqual(got.output, input);
    assert.deepEqual(got.states, ['Wait', 'Inference', 'Done']);
    assert.deepEqual(inference.events, [{ prediction_id: 'p-1' }]);
    assert.equal(failure.events.length, 0);
  });

  test('PredictionFailed goes straight to Fail, not retried', async () => {
    const inference = stubLambda(fnError('PredictionFailed', 'model "m" is no longer published'));
    const failure = stubLambda(ok(failed));
    const got = await run(inference, failure);
    assert.equal(inference.events.length, 1, 'inference invocations');
    assert.deepEqual(got.states, ['Wait', 'Inference', 'Fail', 'Failed']);
    assert.equal(got.status, 'FAILED');
    assert.equal(got.error, 'PredictionFailed');
    assert.equal(failure.events.length, 1);
    const event = failure.events[0];
    assert.equal(event.prediction_id, 'p-1');
    assert.equal(event.error.Error, 'PredictionFailed');
    // As in Step Functions, the Cause is the function's error payload as JSON.
    assert.deepEqual(JSON.parse(event.error.Cause), {
      errorMessage: 'model "m" is no longer published',
      errorType: 'PredictionFailed',
    });
  });

  test('a transient function error is retried, then succeeds', async () => {
    const inference = stubLambda(fnError('wrapError', 'read input: connection reset'), ok(failed));
    const failure = stubLambda(ok(failed));
    const got = await run(inference, failure);
    assert.equal(got.status, 'SUCCEEDED');
    assert.equal(inference.events.length, 2);
    assert.equal(failure.events.length, 0);
  });

  test('a Lambda service error is retried, then succeeds', async () => {
    const inference = stubLambda(httpError(500), httpError(429), ok(failed));
    const failure = stubLambda(ok(failed));
    const got = await run(inference, failure);
    assert.equal(got.status, 'SUCCEEDED');
    assert.deepEqual(
      got.invocations.map((c) => c.error ?? 'ok'),
      ['Lambda.ServiceException', 'Lambda.TooManyRequestsException', 'ok'],
    );
  });

  test('exhausted retries go to Fail with the last error', async () => {
    const inference = stubLambda(fnError('errorString', 'boom'));
    const failure = stubLambda(ok(failed));
    const got = await run(inference, failure);
    assert.equal(inference.events.length, 4, '1 attempt + 3 retries');
    assert.equal(failure.events.length, 1);
    assert.equal(failure.events[0].error.Error, 'errorString');
    assert.deepEqual(got.states, ['Wait', 'Inference', 'Fail', 'Failed']);
    assert.equal(got.status, 'FAILED');
    assert.equal(got.error, 'PredictionFailed');
  });

  test('Lambda service errors have their own retry budget', async () => {
    const inference = stubLambda(httpError(503));
    const failure = stubLambda(ok(failed));
    const got = await run(inference, failure);
    assert.equal(inference.events.length, 7, '1 attempt + 6 retries');
    assert.equal(failure.events[0].error.Error, 'Lambda.ServiceException');
    assert.equal(got.error, 'PredictionFailed');
  });

  test('the Fail task is retried until the refund succeeds', async () => {
    const inference = stubLambda(fnError('PredictionFailed', 'bad rows'));
    const failure = stubLambda(fnError('wrapError', 'dynamodb: throttled'), ok(failed));
    const got = await run(inference, failure);
    assert.equal(failure.events.length, 2);
    assert.deepEqual(failure.events[0], failure.events[1]);
    assert.deepEqual(got.states, ['Wait', 'Inference', 'Fail', 'Failed']);
    assert.equal(got.error, 'PredictionFailed');
  });

  test('a refund that keeps failing fails the execution with its error', async () => {
    const inference = stubLambda(fnError('PredictionFailed', 'bad rows'));
    const failure = stubLambda(fnError('wrapError', 'dynamodb: down'));
    const got = await run(inference, failure);
    assert.equal(failure.events.length, 9, '1 attempt + 8 retries');
    assert.equal(got.status, 'FAILED');
    assert.equal(got.error, 'wrapError');
    assert.deepEqual(got.states, ['Wait', 'Inference', 'Fail']);
  });
});

describe('definition', () => {
  test('uses exactly the two SAM substitutions', () => {
    const names = [...readFileSync(definitionPath, 'utf8').matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]);
    assert.deepEqual([...new Set(names)].sort(), ['FailureFunctionArn', 'InferenceFunctionArn']);
  });

  test('waits for delay_seconds and never retries PredictionFailed', () => {
    const def = loadDefinition();
    assert.equal(def.States.Wait.SecondsPath, '$.delay_seconds');
    const retry = def.States.Inference.Retry;
    assert.deepEqual(retry[0], { ErrorEquals: ['PredictionFailed'], MaxAttempts: 0 });
    for (const r of retry.slice(1)) assert.ok(!r.ErrorEquals.includes('PredictionFailed'));
    assert.deepEqual(def.States.Inference.Catch.map((c) => [c.ErrorEquals, c.ResultPath, c.Next]), [
      [['States.ALL'], '$.error', 'Fail'],
    ]);
  });
});
