// The official `openai` and `ollama` npm clients, and curl, against a running `deepvault serve`.
//
//   node clients.test.mjs <deepvault binary> <model.gguf>
//
// Exit 0: all passed; 1: a failure; 77: skipped (node_modules not installed: run scripts/setup.sh).
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const here = dirname(fileURLToPath(import.meta.url));
if (!existsSync(join(here, 'node_modules', 'openai')) || !existsSync(join(here, 'node_modules', 'ollama'))) {
  console.log('SKIP: tests/server/js/node_modules is missing (scripts/setup.sh runs npm ci there)');
  process.exit(77);
}
const { default: OpenAI } = await import('openai');
const { Ollama } = await import('ollama');

const [binary, model] = process.argv.slice(2);
const dataDir = mkdtempSync(join(tmpdir(), 'dv-js-'));
const child = spawn(binary, ['serve', '--port', '0', '-m', model, '--models-dir', dataDir, '--data-dir', dataDir,
  '--set', 'server.context=256', '--set', 'server.parallel=4', '--set', 'threads=1',
  '--set', 'server.access_log=off'], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise((resolve, reject) => {
  let out = '';
  const timer = setTimeout(() => reject(new Error('server did not start: ' + out)), 30000);
  child.stdout.on('data', (d) => {
    out += d;
    const m = out.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
    if (m) { clearTimeout(timer); resolve(Number(m[1])); }
  });
  child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
});
const base = `http://127.0.0.1:${port}`;
const name = 'stories260K';

const tests = [];
const test = (title, fn) => tests.push([title, fn]);

const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'unused', maxRetries: 0 });
const ollama = new Ollama({ host: base });

test('openai: models.list', async () => {
  const ids = [];
  for await (const m of openai.models.list()) ids.push(m.id);
  assert.deepEqual(ids, [name]);
});

test('openai: chat completion and stream agree (greedy)', async () => {
  const req = { model: name, messages: [{ role: 'user', content: 'Tell me about Lily.' }], max_tokens: 20, temperature: 0 };
  const full = await openai.chat.completions.create(req);
  assert.equal(full.choices[0].message.role, 'assistant');
  assert.ok(full.choices[0].message.content.length > 0);
  assert.equal(full.usage.completion_tokens, 20);
  const stream = await openai.chat.completions.create({ ...req, stream: true, stream_options: { include_usage: true } });
  let text = '', finish = null, usage = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text += c.delta?.content ?? '';
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.equal(text, full.choices[0].message.content);
  assert.equal(finish, 'length');
  assert.equal(usage.completion_tokens, 20);
});

test('openai: completions with logprobs, n=2 with seed', async () => {
  const r = await openai.completions.create({ model: name, prompt: 'Once upon a time', max_tokens: 8, temperature: 0, logprobs: 3 });
  assert.equal(r.choices[0].logprobs.tokens.length, 8);
  assert.equal(Object.keys(r.choices[0].logprobs.top_logprobs[0]).length, 3);
  const many = await openai.chat.completions.create({ model: name, messages: [{ role: 'user', content: 'Hi' }],
    max_tokens: 6, n: 2, seed: 11, temperature: 1 });
  assert.equal(many.choices.length, 2);
  assert.deepEqual(many.choices.map((c) => c.index), [0, 1]);
});

test('openai: embeddings are unit vectors of the model width', async () => {
  const r = await openai.embeddings.create({ model: name, input: ['Lily went to the park.', 'A red ball.'] });
  assert.equal(r.data.length, 2);
  assert.equal(r.data[0].embedding.length, 64);
  const norm = Math.sqrt(r.data[0].embedding.reduce((s, v) => s + v * v, 0));
  assert.ok(Math.abs(norm - 1) < 1e-4, `norm ${norm}`);
  assert.ok(r.usage.prompt_tokens > 4);
});

test('openai: errors map to the SDK error classes', async () => {
  await assert.rejects(openai.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.NotFoundError && e.status === 404 && /does not exist/.test(e.message));
  await assert.rejects(openai.chat.completions.create({ model: name, messages: [{ role: 'user', content: 'x' }], max_tokens: -3 }),
    (e) => e instanceof OpenAI.BadRequestError && e.status === 400 && /max_tokens/.test(e.message));
});

test('ollama: list, show, ps, version', async () => {
  const tags = await ollama.list();
  assert.equal(tags.models[0].name, name);
  const show = await ollama.show({ model: name });
  assert.equal(show.details.family, 'llama');
  const ps = await ollama.ps();
  assert.equal(ps.models.length, 1);
  const v = await ollama.version();
  assert.match(v.version, /^\d+\.\d+\.\d+/);
});

test('ollama: chat (stream and not) and raw generate', async () => {
  const req = { model: name, messages: [{ role: 'user', content: 'Hi' }], options: { temperature: 0, num_predict: 12 } };
  const full = await ollama.chat({ ...req, stream: false });
  assert.equal(full.done, true);
  assert.equal(full.eval_count, 12);
  let text = '', last = null;
  for await (const part of await ollama.chat({ ...req, stream: true })) {
    text += part.message.content;
    last = part;
  }
  assert.equal(text, full.message.content);
  assert.equal(last.done, true);
  const gen = await ollama.generate({ model: name, prompt: 'Once upon a time', raw: true, stream: false,
    options: { temperature: 0, num_predict: 10 } });
  assert.ok(gen.response.length > 0);
  const emb = await ollama.embed({ model: name, input: 'Lily' });
  assert.equal(emb.embeddings[0].length, 64);
});

test('ollama: errors surface as ResponseError with the message', async () => {
  await assert.rejects(ollama.chat({ model: 'nope', messages: [{ role: 'user', content: 'x' }], stream: false }),
    (e) => e.status_code === 404 && /does not exist/.test(e.error));
});

test('curl: SSE framing', async () => {
  const body = JSON.stringify({ model: name, prompt: 'Once', max_tokens: 5, temperature: 0, stream: true });
  const out = execFileSync('curl', ['-sN', '-H', 'Content-Type: application/json', '-d', body, `${base}/v1/completions`]).toString();
  const events = out.split('\n\n').filter((e) => e.length > 0);
  assert.ok(events.every((e) => e.startsWith('data: ')), out);
  assert.equal(events.at(-1), 'data: [DONE]');
  assert.ok(out.endsWith('data: [DONE]\n\n'));
  for (const e of events.slice(0, -1)) JSON.parse(e.slice(6));
});

let failed = 0;
for (const [title, fn] of tests) {
  try {
    await fn();
    console.log(`ok   ${title}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${title}\n     ${e.stack}`);
  }
}
child.kill('SIGTERM');
const code = await new Promise((resolve) => child.on('exit', (c) => resolve(c)));
if (code !== 0) {
  failed++;
  console.log(`FAIL server exit code on SIGTERM: ${code}`);
}
rmSync(dataDir, { recursive: true, force: true });
console.log(`${tests.length - failed + (code !== 0 ? 1 : 0)}/${tests.length} passed`);
process.exit(failed ? 1 : 0);
