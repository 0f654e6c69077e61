#!/usr/bin/env node
// run-workflow executes infra/statemachine.asl.json once with
// aws-local-stepfunctions, sending each Task's Lambda payload to a Lambda
// endpoint over HTTP (aws-lambda-rie running the real bootstrap, or a stub).
//
// Usage:
//   INFERENCE_URL=http://127.0.0.1:P/2015-03-31/functions/function/invocations \
//   FAILURE_URL=http://127.0.0.1:Q/2015-03-31/functions/function/invocations \
//   node infra/test/run-workflow.mjs '{"prediction_id":"…","delay_seconds":0,"ready_at":"2026-12-01T05:00:00Z"}'
//
// The input is the first argument, or stdin when there is none. Optional
// environment: WAIT_MS (the Wait states' duration in ms, default 0) and
// RETRY_MS (the pause before each retry in ms, default 0), where "real" keeps
// the definition's own times; DEFINITION (another definition file).
//
// It prints one JSON object on stdout and exits 0 when the execution ends,
// whether it succeeded or failed:
//   {"status":"SUCCEEDED","output":{…},"states":["Schedule","Wait","Inference","Done"],"invocations":[…]}
//   {"status":"FAILED","error":"PredictionFailed","cause":"…","states":[…],"invocations":[…]}
// Each invocation is {"state","payload","response","error"?}. Exit status 2
// means the harness itself failed (bad input, invalid definition).
import './polyfill.mjs';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { loadDefinition } from './definition.mjs';

// The Task states that invoke a Lambda function, and the variable naming the
// function's invoke URL.
export const taskURLs = { Inference: 'INFERENCE_URL', Fail: 'FAILURE_URL' };

// LambdaError is a function error as Step Functions reports it: the name is
// the function's errorType, the message (the Cause) its raw error payload.
class LambdaError extends Error {
  constructor(name, cause) {
    super(cause);
    this.name = name;
  }
}

// invoke POSTs payload to a Lambda invoke URL and returns what the
// lambda:invoke integration returns, or throws the error it raises.
async function invoke(url, payload) {
  let res;
  let body;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload ?? null),
    });
    body = await res.text();
  } catch (err) {
    throw new LambdaError('Lambda.SdkClientException', `invoke ${url}: ${err.cause?.message ?? err.message}`);
  }
  if (res.status === 429) {
    throw new LambdaError('Lambda.TooManyRequestsException', body);
  }
  if (res.status < 200 || res.status > 299) {
    throw new LambdaError('Lambda.ServiceException', `HTTP ${res.status}: ${body}`);
  }
  let value = null;
  if (body.trim() !== '') {
    try {
      value = JSON.parse(body);
    } catch {
      throw new LambdaError('Lambda.ServiceException', `invalid JSON from ${url}: ${body.slice(0, 200)}`);
    }
  }
  const functionError = res.headers.get('x-amz-function-error');
  const looksLikeError =
    value !== null && typeof value === 'object' && !Array.isArray(value) &&
    typeof value.errorType === 'string' && typeof value.errorMessage === 'string';
  if (functionError || looksLikeError) {
    throw new LambdaError(value?.errorType || 'Lambda.Unknown', body.trim());
  }
  return { ExecutedVersion: '$LATEST', Payload: value, StatusCode: 200 };
}

// runWorkflow runs one execution and returns its summary (see the top of
// this file). urls maps each Task state name to its Lambda invoke URL.
export async function runWorkflow(input, { urls, waitMs = 0, retryMs = 0, definition = loadDefinition() }) {
  const invocations = [];
  const handlers = {};
  for (const state of Object.keys(taskURLs)) {
    handlers[state] = async (params) => {
      const call = { state, payload: params.Payload };
      invocations.push(call);
      try {
        const result = await invoke(urls[state], params.Payload);
        call.response = result.Payload;
        return result;
      } catch (err) {
        call.error = err.name;
        call.response = err.message;
        throw err;
      }
    };
  }
  const overrides = { taskResourceLocalHandlers: handlers };
  if (waitMs !== null) {
    overrides.waitTimeOverrides = { Wait: waitMs, WaitSeconds: waitMs };
  }
  if (retryMs !== null) {
    overrides.retryIntervalOverrides = Object.fromEntries(Object.keys(taskURLs).map((s) => [s, retryMs]));
  }
  const execution = new StateMachine(definition).run(input, { overrides });
  const states = [];
  const logged = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered') states.push(event.state.name);
    }
  })();
  let summary;
  try {
    summary = { status: 'SUCCEEDED', output: await execution.result };
  } catch (err) {
    if (!(err instanceof ExecutionError)) throw err;
    const cause = err.cause ?? err;
    summary = { status: 'FAILED', error: cause.name, cause: cause.message };
  }
  await logged;
  return { ...summary, states, invocations };
}

function readInput() {
  const text = process.argv[2] ?? readFileSync(0, 'utf8');
  return JSON.parse(text);
}

function urlsFromEnv() {
  const urls = {};
  for (const [state, name] of Object.entries(taskURLs)) {
    if (!process.env[name]) throw new Error(`${name} is not set: the invoke URL of the ${state} Lambda`);
    urls[state] = process.env[name];
  }
  return urls;
}

function msFromEnv(name, fallback) {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  if (v === 'real') return null;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}=${v}: want a number of milliseconds`);
  return n;
}

async function main() {
  try {
    const summary = await runWorkflow(readInput(), {
      urls: urlsFromEnv(),
      waitMs: msFromEnv('WAIT_MS', 0),
      retryMs: msFromEnv('RETRY_MS', 0),
      definition: process.env.DEFINITION ? loadDefinition(process.env.DEFINITION) : loadDefinition(),
    });
    process.stdout.write(JSON.stringify(summary) + '\n');
  } catch (err) {
    process.stderr.write(`run-workflow: ${err.stack ?? err}\n`);
    process.exitCode = 2;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
