/**
 * Writes a tiny, valid llama-architecture GGUF file with seeded random weights and a working
 * SentencePiece-style tokenizer.
 *
 * Why: no real language-model weights can be obtained on the machines this project runs on, yet
 * the devnet must serve a GGUF model through the very same llama.cpp path a user's own model
 * takes (chat template, streaming, sampling, embeddings). The file's sha-256 is its model id, so
 * the bytes depend only on the config and the seed: same seed, same file, same id, everywhere.
 * The weights come from an integer PRNG and plain arithmetic (no Math.log/sin, whose last bits
 * may differ between engines), and the metadata is written in a fixed order.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AgoraError } from '@agora/sdk';
import { createRng } from '../seededRandom.ts';

/** Shape and content of the model {@link writeTinyLlamaGguf} writes. */
export type TinyLlamaConfig = {
  /** Seed of the weight PRNG (uint32). Same seed and config ⇒ byte-identical file. */
  seed: number;
  /** Model width (`llama.embedding_length`). */
  embeddingLength: number;
  /** Transformer blocks (`llama.block_count`). */
  blockCount: number;
  /** Attention heads; must divide `embeddingLength`. */
  headCount: number;
  /** Key/value heads (grouped-query attention); must divide `headCount`. */
  headCountKv: number;
  /** Hidden width of the SwiGLU feed-forward layer. */
  feedForwardLength: number;
  /** Longest context the model advertises (`llama.context_length`). */
  contextLength: number;
  /**
   * Word pieces of the vocabulary beyond the always-present special tokens, 256 byte-fallback
   * tokens, `▁` and the printable ASCII characters. Each word is added with a leading `▁`
   * (SentencePiece's space) together with every prefix, so the tokenizer can merge up to it.
   */
  vocab: readonly string[];
  /** `general.name` in the file. */
  name: string;
};

/** Parameters of {@link writeTinyLlamaGguf}: any part of {@link TinyLlamaConfig}. */
export type WriteTinyLlamaGgufParameters = Partial<TinyLlamaConfig>;

/** A few hundred common English words: generated text then looks like (random) words. */
const defaultWords: readonly string[] = (
  'the of and to a in is it you that he was for on are with as I his they be at one have this from ' +
  'or had by hot word but what some we can out other were all there when up use your how said an ' +
  'each she which do their time if will way about many then them write would like so these her ' +
  'long make thing see him two has look more day could go come did number sound no most people my ' +
  'over know water than call first who may down side been now find any new work part take get ' +
  'place made live where after back little only round man year came show every good me give our ' +
  'under name very through just form sentence great think say help low line differ turn cause much ' +
  'mean before move right boy old too same tell does set three want air well also play small end put ' +
  'home read hand port large spell add even land here must big high such follow act why ask men ' +
  'change went light kind off need house picture try us again animal point mother world near build ' +
  'self earth father head stand own page should country found answer school grow study still learn ' +
  'plant cover food sun four between state keep eye never last let thought city tree cross farm hard ' +
  'start might story saw far sea draw left late run while press close night real life few north ' +
  'network model token agora price node chain'
).split(' ');

/**
 * The default tiny model: 64 wide, 2 blocks, 4 heads (2 KV heads), ~223k parameters, a 974-token vocabulary, 0.9 MB.
 * Small enough to generate thousands of tokens per second on one CPU thread.
 */
export const defaultTinyLlamaConfig: TinyLlamaConfig = Object.freeze({
  seed: 42,
  embeddingLength: 64,
  blockCount: 2,
  headCount: 4,
  headCountKv: 2,
  feedForwardLength: 192,
  contextLength: 2048,
  vocab: defaultWords,
  name: 'agora-tiny-llama',
});

/**
 * ChatML, which llama.cpp and node-llama-cpp both recognise. The role markers are control tokens
 * of the vocabulary, so the template renders to real special tokens.
 */
export const tinyLlamaChatTemplate =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

// GGUF metadata value types.
const GGUF_UINT32 = 4;
const GGUF_INT32 = 5;
const GGUF_FLOAT32 = 6;
const GGUF_BOOL = 7;
const GGUF_STRING = 8;
const GGUF_ARRAY = 9;
// ggml tensor type.
const GGML_TYPE_F32 = 0;
// SentencePiece token types as llama.cpp reads them.
const TOKEN_NORMAL = 1;
const TOKEN_UNKNOWN = 2;
const TOKEN_CONTROL = 3;
const TOKEN_BYTE = 6;

const ALIGNMENT = 32;
/** SentencePiece's visible space. */
const SPACE = '\u2581';

type MetadataValue =
  | { type: 'u32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'string[]'; value: readonly string[] }
  | { type: 'f32[]'; value: readonly number[] }
  | { type: 'i32[]'; value: readonly number[] };

type Tensor = { name: string; dims: readonly number[]; data: Float32Array };

/** The tokenizer tables in vocabulary order. */
type Vocabulary = {
  tokens: string[];
  scores: number[];
  types: number[];
  /** Ids of whole words (not mere prefixes of one): what a random model should mostly say. */
  wordIds: Set<number>;
  eosId: number;
  bosId: number;
  unkId: number;
};

/**
 * Builds a SentencePiece ("llama") vocabulary: specials, the 256 byte-fallback tokens (llama.cpp
 * requires them to exist), single characters and word pieces. llama.cpp's SPM tokenizer starts
 * from characters and repeatedly merges the adjacent pair with the highest score whose
 * concatenation is a token, so every piece must be reachable through tokens of its own: each
 * word brings all its prefixes, longer pieces score higher.
 */
function buildVocabulary(words: readonly string[]): Vocabulary {
  const tokens: string[] = [];
  const scores: number[] = [];
  const types: number[] = [];
  const ids = new Map<string, number>();
  const add = (text: string, score: number, type: number) => {
    if (ids.has(text)) return;
    ids.set(text, tokens.length);
    tokens.push(text);
    scores.push(score);
    types.push(type);
  };
  add('<unk>', 0, TOKEN_UNKNOWN);
  add('<s>', 0, TOKEN_CONTROL);
  add('</s>', 0, TOKEN_CONTROL);
  add('<|im_start|>', 0, TOKEN_CONTROL);
  add('<|im_end|>', 0, TOKEN_CONTROL);
  for (let byte = 0; byte < 256; byte++) {
    add(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`, 0, TOKEN_BYTE);
  }
  // Single characters score lowest: they are the starting symbols, never merge results.
  add(SPACE, -1000, TOKEN_NORMAL);
  for (let code = 33; code < 127; code++) add(String.fromCharCode(code), -1000, TOKEN_NORMAL);
  for (const word of words) {
    if (word.length === 0 || /\s/.test(word)) {
      throw invalidConfig(`vocabulary word ${JSON.stringify(word)} is empty or contains whitespace; pass single words without spaces.`);
    }
    const piece = SPACE + word;
    // Code points, so a non-ASCII word never splits a surrogate pair.
    const chars = [...piece];
    for (let end = 2; end <= chars.length; end++) add(chars.slice(0, end).join(''), -1000 + end, TOKEN_NORMAL);
  }
  const wordIds = new Set(words.map((word) => ids.get(SPACE + word)!));
  return { tokens, scores, types, wordIds, unkId: 0, bosId: 1, eosId: 4 };
}

/**
 * A weight matrix of `rows` rows of `fanIn` values (GGUF dims [fanIn, rows]), uniform with
 * variance 1/fanIn so activations and logits keep a sensible scale through the random network.
 */
function randomMatrix(random: () => number, fanIn: number, rows: number): Float32Array {
  const bound = Math.sqrt(3 / fanIn);
  const data = new Float32Array(fanIn * rows);
  for (let i = 0; i < data.length; i++) data[i] = (random() * 2 - 1) * bound;
  return data;
}

function invalidConfig(message: string): AgoraError {
  return new AgoraError('TinyGgufConfigInvalid', `Tiny GGUF config: ${message}`, { fix: 'Fix the parameters passed to writeTinyLlamaGguf.' });
}

function validate(config: TinyLlamaConfig): void {
  const positiveInts: (keyof TinyLlamaConfig)[] = ['embeddingLength', 'blockCount', 'headCount', 'headCountKv', 'feedForwardLength', 'contextLength'];
  for (const key of positiveInts) {
    const value = config[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw invalidConfig(`${key} must be a positive integer, got ${String(value)}.`);
    }
  }
  if (!Number.isInteger(config.seed) || config.seed < 0 || config.seed > 0xffffffff) {
    throw invalidConfig(`seed must be an integer in [0, 2^32), got ${config.seed}.`);
  }
  if (config.embeddingLength % config.headCount !== 0) {
    throw invalidConfig(`headCount ${config.headCount} must divide embeddingLength ${config.embeddingLength}.`);
  }
  if (config.headCount % config.headCountKv !== 0) {
    throw invalidConfig(`headCountKv ${config.headCountKv} must divide headCount ${config.headCount}.`);
  }
  if ((config.embeddingLength / config.headCount) % 2 !== 0) {
    throw invalidConfig(`the head size (embeddingLength / headCount) must be even for RoPE.`);
  }
}

/** Grows as needed; GGUF is little-endian throughout. */
class ByteWriter {
  private buffer = Buffer.alloc(1 << 16);
  length = 0;

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + bytes) size *= 2;
    const next = Buffer.alloc(size);
    this.buffer.copy(next, 0, 0, this.length);
    this.buffer = next;
  }
  u32(value: number): void {
    this.reserve(4);
    this.buffer.writeUInt32LE(value, this.length);
    this.length += 4;
  }
  i32(value: number): void {
    this.reserve(4);
    this.buffer.writeInt32LE(value, this.length);
    this.length += 4;
  }
  u64(value: number): void {
    this.reserve(8);
    this.buffer.writeBigUInt64LE(BigInt(value), this.length);
    this.length += 8;
  }
  f32(value: number): void {
    this.reserve(4);
    this.buffer.writeFloatLE(value, this.length);
    this.length += 4;
  }
  u8(value: number): void {
    this.reserve(1);
    this.buffer.writeUInt8(value, this.length);
    this.length += 1;
  }
  string(value: string): void {
    const bytes = Buffer.from(value, 'utf8');
    this.u64(bytes.length);
    this.bytes(bytes);
  }
  bytes(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }
  pad(alignment: number): void {
    const padding = (alignment - (this.length % alignment)) % alignment;
    this.reserve(padding);
    this.buffer.fill(0, this.length, this.length + padding);
    this.length += padding;
  }
  result(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

function writeMetadataValue(out: ByteWriter, entry: MetadataValue): void {
  switch (entry.type) {
    case 'u32':
      out.u32(GGUF_UINT32);
      out.u32(entry.value);
      return;
    case 'f32':
      out.u32(GGUF_FLOAT32);
      out.f32(entry.value);
      return;
    case 'bool':
      out.u32(GGUF_BOOL);
      out.u8(entry.value ? 1 : 0);
      return;
    case 'string':
      out.u32(GGUF_STRING);
      out.string(entry.value);
      return;
    case 'string[]':
      out.u32(GGUF_ARRAY);
      out.u32(GGUF_STRING);
      out.u64(entry.value.length);
      for (const value of entry.value) out.string(value);
      return;
    case 'f32[]':
      out.u32(GGUF_ARRAY);
      out.u32(GGUF_FLOAT32);
      out.u64(entry.value.length);
      for (const value of entry.value) out.f32(value);
      return;
    case 'i32[]':
      out.u32(GGUF_ARRAY);
      out.u32(GGUF_INT32);
      out.u64(entry.value.length);
      for (const value of entry.value) out.i32(value);
      return;
  }
}

/**
 * Serializes the model to GGUF v3 bytes in memory. Exposed for callers that hash or ship the
 * bytes without touching disk; {@link writeTinyLlamaGguf} writes them to a file.
 *
 * @example
 * const bytes = buildTinyLlamaGguf({ seed: 7 })
 */
export function buildTinyLlamaGguf(parameters: WriteTinyLlamaGgufParameters = {}): Buffer {
  const config: TinyLlamaConfig = { ...defaultTinyLlamaConfig, ...parameters };
  validate(config);
  const { embeddingLength: nEmbd, blockCount, headCount, headCountKv, feedForwardLength: nFf } = config;
  const headSize = nEmbd / headCount;
  const nEmbdKv = headSize * headCountKv;
  const vocabulary = buildVocabulary(config.vocab);
  const nVocab = vocabulary.tokens.length;

  const random = createRng(config.seed);
  const ones = (n: number) => new Float32Array(n).fill(1);
  const tensors: Tensor[] = [];
  // Dims are GGUF order: ne0 (the contiguous one) first, i.e. [fan-in, rows].
  tensors.push({ name: 'token_embd.weight', dims: [nEmbd, nVocab], data: randomMatrix(random, nEmbd, nVocab) });
  for (let block = 0; block < blockCount; block++) {
    const prefix = `blk.${block}`;
    tensors.push({ name: `${prefix}.attn_norm.weight`, dims: [nEmbd], data: ones(nEmbd) });
    tensors.push({ name: `${prefix}.attn_q.weight`, dims: [nEmbd, nEmbd], data: randomMatrix(random, nEmbd, nEmbd) });
    tensors.push({ name: `${prefix}.attn_k.weight`, dims: [nEmbd, nEmbdKv], data: randomMatrix(random, nEmbd, nEmbdKv) });
    tensors.push({ name: `${prefix}.attn_v.weight`, dims: [nEmbd, nEmbdKv], data: randomMatrix(random, nEmbd, nEmbdKv) });
    tensors.push({ name: `${prefix}.attn_output.weight`, dims: [nEmbd, nEmbd], data: randomMatrix(random, nEmbd, nEmbd) });
    tensors.push({ name: `${prefix}.ffn_norm.weight`, dims: [nEmbd], data: ones(nEmbd) });
    tensors.push({ name: `${prefix}.ffn_gate.weight`, dims: [nEmbd, nFf], data: randomMatrix(random, nEmbd, nFf) });
    tensors.push({ name: `${prefix}.ffn_down.weight`, dims: [nFf, nEmbd], data: randomMatrix(random, nFf, nEmbd) });
    tensors.push({ name: `${prefix}.ffn_up.weight`, dims: [nEmbd, nFf], data: randomMatrix(random, nEmbd, nFf) });
  }
  tensors.push({ name: 'output_norm.weight', dims: [nEmbd], data: ones(nEmbd) });
  const output = randomMatrix(random, nEmbd, nVocab);
  // Cosmetic: damp the output rows of every token but whole words so a random model mostly emits
  // words instead of raw bytes and word fragments (those stay possible, so byte fallback is still
  // exercised). The end-of-turn token keeps full scale so chats can end on their own.
  for (let id = 0; id < nVocab; id++) {
    if (id === vocabulary.eosId || vocabulary.wordIds.has(id)) continue;
    for (let i = id * nEmbd; i < (id + 1) * nEmbd; i++) output[i] = output[i]! * 0.25;
  }
  tensors.push({ name: 'output.weight', dims: [nEmbd, nVocab], data: output });

  const metadata: [string, MetadataValue][] = [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.name', { type: 'string', value: config.name }],
    ['general.file_type', { type: 'u32', value: 0 }], // ALL_F32
    ['general.alignment', { type: 'u32', value: ALIGNMENT }],
    ['llama.vocab_size', { type: 'u32', value: nVocab }],
    ['llama.context_length', { type: 'u32', value: config.contextLength }],
    ['llama.embedding_length', { type: 'u32', value: nEmbd }],
    ['llama.block_count', { type: 'u32', value: blockCount }],
    ['llama.feed_forward_length', { type: 'u32', value: nFf }],
    ['llama.attention.head_count', { type: 'u32', value: headCount }],
    ['llama.attention.head_count_kv', { type: 'u32', value: headCountKv }],
    ['llama.attention.layer_norm_rms_epsilon', { type: 'f32', value: 1e-5 }],
    ['llama.rope.dimension_count', { type: 'u32', value: headSize }],
    ['llama.rope.freq_base', { type: 'f32', value: 10000 }],
    ['tokenizer.ggml.model', { type: 'string', value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: 'string[]', value: vocabulary.tokens }],
    ['tokenizer.ggml.scores', { type: 'f32[]', value: vocabulary.scores }],
    ['tokenizer.ggml.token_type', { type: 'i32[]', value: vocabulary.types }],
    ['tokenizer.ggml.bos_token_id', { type: 'u32', value: vocabulary.bosId }],
    ['tokenizer.ggml.eos_token_id', { type: 'u32', value: vocabulary.eosId }],
    ['tokenizer.ggml.unknown_token_id', { type: 'u32', value: vocabulary.unkId }],
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: true }],
    ['tokenizer.ggml.add_eos_token', { type: 'bool', value: false }],
    ['tokenizer.chat_template', { type: 'string', value: tinyLlamaChatTemplate }],
  ];

  const out = new ByteWriter();
  out.bytes(Buffer.from('GGUF', 'ascii'));
  out.u32(3); // version
  out.u64(tensors.length);
  out.u64(metadata.length);
  for (const [key, value] of metadata) {
    out.string(key);
    writeMetadataValue(out, value);
  }
  let offset = 0;
  for (const tensor of tensors) {
    out.string(tensor.name);
    out.u32(tensor.dims.length);
    for (const dim of tensor.dims) out.u64(dim);
    out.u32(GGML_TYPE_F32);
    out.u64(offset);
    offset += tensor.data.byteLength;
    offset += (ALIGNMENT - (offset % ALIGNMENT)) % ALIGNMENT;
  }
  out.pad(ALIGNMENT);
  for (const tensor of tensors) {
    const bytes = Buffer.alloc(tensor.data.byteLength);
    for (let i = 0; i < tensor.data.length; i++) bytes.writeFloatLE(tensor.data[i]!, i * 4);
    out.bytes(bytes);
    out.pad(ALIGNMENT);
  }
  return out.result();
}

/**
 * Writes a tiny random-weight llama GGUF to `path` (creating its folder) and returns the path.
 * Deterministic: the same parameters always give the same bytes, hence the same model id.
 *
 * @example
 * const path = await writeTinyLlamaGguf('/tmp/tiny.gguf', { seed: 1 })
 * const runtime = await createLlamaRuntime({ path })
 */
export async function writeTinyLlamaGguf(path: string, parameters: WriteTinyLlamaGgufParameters = {}): Promise<string> {
  const bytes = buildTinyLlamaGguf(parameters);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
  return path;
}
