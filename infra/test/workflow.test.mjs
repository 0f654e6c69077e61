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
const input = { prediction_id: 'p-1', delay_seconds: 12, ready_at: '2026-12-01T05:00:00Z' };

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
async function run(inference, failure, env = {}, execInput = input) {
  await Promise.all([inference.start(), failure.start()]);
  try {
    const child = spawn(process.execPath, [script, JSON.stringify(execInput)], {
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
    assert.deepEqual(got.states, ['Schedule', 'Wait', 'Inference', 'Done']);
    assert.deepEqual(inference.events, [{ prediction_id: 'p-1' }]);
    assert.equal(failure.events.length, 0);
  });

  test('PredictionFailed goes straight to Fail, not retried', async () => {
    const inference = stubLambda(fnError('PredictionFailed', 'model "m" is no longer published'));
    const failure = stubLambda(ok(failed));
    const got = await run(inference, failure);
    assert.equal(inference.events.length, 1, 'inference invocations');
    assert.deepEqual(got.states, ['Schedule', 'Wait', 'Inference', 'Fail', 'Failed']);
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
    assert.deepEqual(got.states, ['Schedule', 'Wait', 'Inference', 'Fail', 'Failed']);
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
    assert.deepEqual(got.states, ['Schedule', 'Wait', 'Inference', 'Fail', 'Failed']);
    assert.equal(got.error, 'PredictionFailed');
  });

  test('a refund that keeps failing fails the execution with its error', async () => {
    const inference = stubLambda(fnError('PredictionFailed', 'bad rows'));
    const failure = stubLambda(fnError('wrapError', 'dynamodb: down'));
    const got = await run(inference, failure);
    assert.equal(failure.events.length, 9, '1 attempt + 8 retries');
    assert.equal(got.status, 'FAILED');
    assert.equal(got.error, 'wrapError');
    assert.deepEqual(got.states, ['Schedule', 'Wait', 'Inference', 'Fail']);
  });
});

describe('compatibility', () => {
  test('an input without ready_at waits delay_seconds, then runs', async () => {
    const inference = stubLambda(ok(failed));
    const failure = stubLambda(ok(failed));
    const legacy = { prediction_id: 'p-1', delay_seconds: 12 };
    const got = await run(inference, failure, {}, legacy);
    assert.equal(got.status, 'SUCCEEDED');
    assert.deepEqual(got.states, ['Schedule', 'WaitSeconds', 'Inference', 'Done']);
    assert.deepEqual(got.output, legacy);
  });

  test('a ready_at in the past does not wait again', async () => {
    const inference = stubLambda(ok(failed));
    const failure = stubLambda(ok(failed));
    // Waiting again would take delay_seconds, two minutes of real time: far
    // more than a run takes even on a loaded machine.
    const past = { ...input, delay_seconds: 120, ready_at: '2020-01-01T00:00:00Z' };
    const started = Date.now();
    const got = await run(inference, failure, { WAIT_MS: 'real' }, past);
    assert.equal(got.status, 'SUCCEEDED');
    assert.deepEqual(got.states, ['Schedule', 'Wait', 'Inference', 'Done']);
    assert.ok(Date.now() - started < 90_000, 'the execution waited');
  });
});

describe('definition', () => {
  test('uses exactly the two SAM substitutions', () => {
    const names = [...readFileSync(definitionPath, 'utf8').matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]);
    assert.deepEqual([...new Set(names)].sort(), ['FailureFunctionArn', 'InferenceFunctionArn']);
  });

  test('waits until ready_at, or delay_seconds without it, and never retries PredictionFailed', () => {
    const def = loadDefinition();
    assert.equal(def.StartAt, 'Schedule');
    assert.deepEqual(def.States.Schedule.Choices, [{ Variable: '$.ready_at', IsPresent: true, Next: 'Wait' }]);
    assert.equal(def.States.Schedule.Default, 'WaitSeconds');
    assert.equal(def.States.Wait.TimestampPath, '$.ready_at');
    assert.equal(def.States.Wait.Next, 'Inference');
    assert.equal(def.States.WaitSeconds.SecondsPath, '$.delay_seconds');
    assert.equal(def.States.WaitSeconds.Next, 'Inference');
    const retry = def.States.Inference.Retry;
    assert.deepEqual(retry[0], { ErrorEquals: ['PredictionFailed'], MaxAttempts: 0 });
    for (const r of retry.slice(1)) assert.ok(!r.ErrorEquals.includes('PredictionFailed'));
    assert.deepEqual(def.States.Inference.Catch.map((c) => [c.ErrorEquals, c.ResultPath, c.Next]), [
      [['States.ALL'], '$.error', 'Fail'],
    ]);
  });

  // docs/OPERATIONS.md adds this up: the wait, every attempt of both tasks
  // at its TimeoutSeconds and every retry's longest pause.
  test('TimeoutSeconds covers the worst case of every retry', () => {
    const def = loadDefinition();
    const attempts = (state) => 1 + state.Retry.reduce((n, r) => n + r.MaxAttempts, 0);
    const pauses = (state) =>
      state.Retry.reduce((sum, r) => {
        let s = 0;
        for (let i = 0; i < r.MaxAttempts; i++) {
          s += Math.min(r.IntervalSeconds * r.BackoffRate ** i, r.MaxDelaySeconds ?? Infinity);
        }
        return sum + s;
      }, 0);
    const { Inference, Fail } = def.States;
    assert.equal(attempts(Inference), 10);
    assert.equal(pauses(Inference), 122 + 14);
    assert.equal(attempts(Fail), 9);
    assert.equal(pauses(Fail), 242);
    const maxWait = 25 + 1; // the longest delay, rounded up to whole seconds
    const worst =
      maxWait + attempts(Inference) * Inference.TimeoutSeconds + pauses(Inference) +
      attempts(Fail) * Fail.TimeoutSeconds + pauses(Fail);
    assert.equal(worst, 1329);
    assert.ok(def.TimeoutSeconds >= worst, `TimeoutSeconds ${def.TimeoutSeconds} < worst case ${worst}`);
    assert.ok(def.TimeoutSeconds <= worst + 60, `TimeoutSeconds ${def.TimeoutSeconds} is far above the worst case ${worst}`);
  });
});
