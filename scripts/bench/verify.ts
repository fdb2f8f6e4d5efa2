// npm run bench:verify — how often the tolerance verifier is wrong, and what it costs.
// On the devnet's tiny GGUF (llama.cpp, CPU):
//   honest      outputs of the same model from providers at 1, 2 and 4 threads, greedy and sampled
//               (temperature 0.7 and 1 with seeds), chat and raw completion, each verified by two
//               verifiers (llama.cpp batch size 512 and 8: another evaluation order);
//   substituted the answer of another model (another seed of writeTinyLlamaGguf) to the same call;
//   truncated   the first half of the text under the full usage;
//   relabelled  the first half with usage rewritten to match and finishReason "stop";
//   edited-1/-3 one or three words swapped for random words of the vocabulary;
//   random      random vocabulary words.
// Prints FPR (honest rejected) and FNR (dishonest accepted) per kind for a sweep of thresholds,
// then the verification cost per call next to the generation cost. Thread counts above 1 are
// slow on a loaded 2-core machine; BENCH_VERIFY_THREADS=1,2,4,8 on a bigger one.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createLlamaRuntime,
  defaultTinyLlamaConfig,
  defaultToleranceThresholds,
  verifyTolerance,
  writeTinyLlamaGguf,
  type LlamaChatMessage,
  type LlamaContinuationScore,
  type LlamaRuntime,
  type ToleranceClaim,
  type ToleranceDecoding,
  type ToleranceThresholds,
} from '@agora/node';

const started = performance.now();
const dir = mkdtempSync(join(tmpdir(), 'agora-bench-verify-'));
const modelPath = await writeTinyLlamaGguf(join(dir, 'tiny.gguf'));
const otherPath = await writeTinyLlamaGguf(join(dir, 'other.gguf'), { seed: 7 });

function rng(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const questions = [
  'Say hello to the network.', 'Tell me about the sea.', 'What is the price of a token?', 'Write a story about a boy and his father.',
  'Which city is near the north sea?', 'How do plants grow?', 'Explain the chain to me.', 'Name three animals.',
  'Why is the sun hot?', 'What does a node do?', 'Give me a list of old words.', 'Where does the water go at night?',
];
const prompts = ['Once upon a time', 'The price of a token', 'In the house near the sea', 'A model of the world'];
type Input = { messages: LlamaChatMessage[] } | { prompt: string };
const inputs: Input[] = [
  ...questions.map((q, i): Input => ({ messages: i % 3 === 0 ? [{ role: 'system', content: 'You are a terse assistant.' }, { role: 'user', content: q }] : [{ role: 'user', content: q }] })),
  ...prompts.map((prompt): Input => ({ prompt })),
];
type Sampling = { name: string; temperature: number; seed?: number };
const samplings: Sampling[] = [
  { name: 'greedy', temperature: 0 },
  { name: 'T0.7 s1', temperature: 0.7, seed: 1 },
  { name: 'T0.7 s2', temperature: 0.7, seed: 2 },
  { name: 'T1.0', temperature: 1, seed: 3 },
];
const maxTokens = 48;

type Output = { text: string; finishReason: 'stop' | 'length'; usage: { promptTokens: number; completionTokens: number } };
type Case = { kind: string; input: Input; sampling: Sampling; output: Output; maxTokens: number };

let generationCpuMs = 0;
let generationWallMs = 0;
let generations = 0;
async function generate(runtime: LlamaRuntime, input: Input, sampling: Sampling, tokens = maxTokens): Promise<Output> {
  const options = { maxTokens: tokens, temperature: sampling.temperature, seed: sampling.seed };
  const cpu = process.cpuUsage();
  const wall = performance.now();
  const r = 'messages' in input ? await runtime.chat(input.messages, options) : await runtime.complete(input.prompt, options);
  const used = process.cpuUsage(cpu);
  if (runtime === t1) {
    generationWallMs += performance.now() - wall;
    generationCpuMs += (used.user + used.system) / 1000;
    generations++;
  }
  return { text: r.text, finishReason: r.finishReason, usage: { promptTokens: r.promptTokens, completionTokens: r.completionTokens } };
}

const threadCounts = (process.env.BENCH_VERIFY_THREADS ?? '1,2,4').split(',').map(Number);
const t1 = await createLlamaRuntime({ path: modelPath, threads: 1 });
const honest: Case[] = [];
for (const input of inputs) for (const sampling of samplings) honest.push({ kind: 'honest t1', input, sampling, output: await generate(t1, input, sampling), maxTokens });
// Many threads on 2 busy cores take seconds per token: a few short calls each.
for (const threads of threadCounts.filter((t) => t > 1)) {
  const runtime = await createLlamaRuntime({ path: modelPath, threads, contextSize: 512 });
  const count = cpus().length >= 8 ? inputs.length : threads === 2 ? 4 : 2;
  for (let i = 0; i < count; i++) {
    const input = inputs[(i * 5) % inputs.length]!;
    const sampling = samplings[i % samplings.length]!;
    const tokens = cpus().length >= 8 ? maxTokens : 16;
    honest.push({ kind: `honest t${threads}`, input, sampling, output: await generate(runtime, input, sampling, tokens), maxTokens: tokens });
  }
  await runtime.close();
}

const bases = honest.filter((c) => c.kind === 'honest t1');
const other = await createLlamaRuntime({ path: otherPath });
const dishonest: Case[] = [];
const random = rng(2026);
const vocab = defaultTinyLlamaConfig.vocab;
const randomWord = () => vocab[Math.floor(random() * vocab.length)]!;
const edit = (text: string, count: number) => {
  const words = text.split(' ');
  for (let edited = 0; edited < count; ) {
    const at = Math.floor(random() * words.length);
    const word = randomWord();
    if (words[at] !== word) (words[at] = word), edited++;
  }
  return words.join(' ');
};
for (const base of bases) {
  const { input, sampling, output } = base;
  const c = { input, sampling, maxTokens };
  dishonest.push({ kind: 'substituted', ...c, output: await generate(other, input, sampling) });
  const words = output.text.split(' ');
  const half = words.slice(0, Math.floor(words.length / 2)).join(' ');
  dishonest.push({ kind: 'truncated', ...c, output: { ...output, text: half } });
  dishonest.push({ kind: 'relabelled', ...c, output: { text: half, finishReason: 'stop', usage: { ...output.usage, completionTokens: Math.floor(words.length / 2) + 1 } } });
  dishonest.push({ kind: 'edited-1', ...c, output: { ...output, text: edit(output.text, 1) } });
  dishonest.push({ kind: 'edited-3', ...c, output: { ...output, text: edit(output.text, 3) } });
  dishonest.push({ kind: 'random', ...c, output: { ...output, text: Array.from({ length: words.length }, randomWord).join(' ') } });
}
await other.close();

// Score every case once per verifier; thresholds are then swept over the stored scores.
type Scored = { kind: string; score: LlamaContinuationScore; claim: ToleranceClaim; decoding: ToleranceDecoding };
const verifiers = [
  { name: 'b512', runtime: t1 },
  { name: 'b8', runtime: await createLlamaRuntime({ path: modelPath, threads: 1, batchSize: 8 }) },
];
const scored: Scored[] = [];
let scoringCpuMs = 0;
let scoringWallMs = 0;
let scorings = 0;
for (const { name, runtime } of verifiers) {
  for (const c of [...honest, ...(name === 'b512' ? dishonest : [])]) {
    const source = 'messages' in c.input ? c.input.messages : c.input.prompt;
    const cpu = process.cpuUsage();
    const wall = performance.now();
    const score = await runtime.scoreContinuation(source, c.output.text);
    const used = process.cpuUsage(cpu);
    if (name === 'b512' && c.kind === 'honest t1') {
      scoringWallMs += performance.now() - wall;
      scoringCpuMs += (used.user + used.system) / 1000;
      scorings++;
    }
    scored.push({
      kind: c.kind.startsWith('honest') ? 'honest' : c.kind,
      score,
      claim: { finishReason: c.output.finishReason, usage: c.output.usage },
      decoding: { greedy: c.sampling.temperature === 0, maxTokens: c.maxTokens, contextSize: runtime.contextSize },
    });
  }
}
await Promise.all(verifiers.map((v) => v.runtime.close()));

const kinds = ['honest', 'substituted', 'truncated', 'relabelled', 'edited-1', 'edited-3', 'random'];
type Setting = { name: string; thresholds: ToleranceThresholds; top1Only?: boolean };
const d = defaultToleranceThresholds;
const settings: Setting[] = [
  { name: `default: agreement≥${d.minAgreement}, rank≤${d.maxRank}, ±${d.maxTokenCountDelta}`, thresholds: d },
  { name: 'top-1 agreement≥0.75 (for every call)', thresholds: d, top1Only: true },
  { name: 'agreement≥0.5, rank≤75, ±3', thresholds: { ...d, minAgreement: 0.5 } },
  { name: 'agreement≥0.9, rank≤75, ±3', thresholds: { ...d, minAgreement: 0.9 } },
  { name: 'agreement≥0.75, rank≤40, ±3', thresholds: { ...d, maxRank: 40 } },
  { name: 'agreement≥0.75, rank≤150, ±3', thresholds: { ...d, maxRank: 150 } },
  { name: 'agreement≥0.75, rank≤500, ±3', thresholds: { ...d, maxRank: 500 } },
  { name: 'agreement≥0.75, rank≤75, ±0', thresholds: { ...d, maxTokenCountDelta: 0 } },
  { name: 'agreement≥0.75, rank≤75, ±10', thresholds: { ...d, maxTokenCountDelta: 10 } },
];
const counts = Object.fromEntries(kinds.map((k) => [k, scored.filter((s) => s.kind === k).length]));
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}; node ${process.version}`);
console.log(`cases: ${kinds.map((k) => `${k} ${counts[k]}`).join(', ')} (honest: ${honest.length} outputs × 2 verifiers; threads ${threadCounts.join(',')})`);
console.log('');
console.log(`| thresholds | FPR honest | ${kinds.slice(1).map((k) => `FNR ${k}`).join(' | ')} |`);
console.log(`|---|---|${kinds.slice(1).map(() => '---').join('|')}|`);
const rate = (rejected: number, total: number) => `${((100 * rejected) / total).toFixed(1)}% (${rejected}/${total})`;
for (const setting of settings) {
  const cells = kinds.map((kind) => {
    const cases = scored.filter((s) => s.kind === kind);
    const failed = cases.filter(
      (s) => verifyTolerance({ score: s.score, claim: s.claim, decoding: setting.top1Only ? { ...s.decoding, greedy: true } : s.decoding, thresholds: setting.thresholds }).verdict === 'fail',
    ).length;
    return kind === 'honest' ? rate(failed, cases.length) : rate(cases.length - failed, cases.length);
  });
  console.log(`| ${setting.name} | ${cells.join(' | ')} |`);
}
const worstRank = (greedy: boolean) => Math.max(...scored.filter((s) => s.kind === 'honest' && s.decoding.greedy === greedy).map((s) => verifyTolerance(s).metrics.maxRank));
const honestMetrics = scored.filter((s) => s.kind === 'honest').map((s) => verifyTolerance(s).metrics);
const sampledHonest = scored.filter((s) => s.kind === 'honest' && !s.decoding.greedy).map((s) => verifyTolerance(s).metrics);
console.log('');
console.log(
  `honest: worst agreement ${Math.min(...honestMetrics.map((m) => m.agreement)).toFixed(3)}, worst rank ${Math.max(...honestMetrics.map((m) => m.maxRank))}, ` +
    `worst rank greedy ${worstRank(true)} / sampled ${worstRank(false)}, largest |token Δ| ${Math.max(...honestMetrics.map((m) => Math.abs(m.tokenCountDelta)))}; sampled honest top-1 mean ${(sampledHonest.reduce((a, m) => a + m.top1, 0) / sampledHonest.length).toFixed(3)}`,
);
const perCall = (ms: number, n: number) => (ms / n).toFixed(1);
console.log(
  `cost per call (${maxTokens}-token answers, 1 thread): generation ${perCall(generationWallMs, generations)} ms wall / ${perCall(generationCpuMs, generations)} ms CPU; ` +
    `verification (one scoring pass) ${perCall(scoringWallMs, scorings)} ms wall / ${perCall(scoringCpuMs, scorings)} ms CPU; ` +
    `verification/generation CPU = ${(scoringCpuMs / scorings / (generationCpuMs / generations)).toFixed(2)}`,
);
console.log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);
rmSync(dir, { recursive: true, force: true });
