import type { ServedModel } from './servedModel.ts';

/**
 * A plausible wrong answer in place of a real one: another digit, edited text, perturbed numbers.
 * What a cheater would return to save work or skew results, shaped like the honest output so
 * nothing but re-execution (an audit) or a known answer (a canary) can tell.
 */
export function falsifyOutput(output: unknown): unknown {
  if (typeof output === 'number') return output + 1;
  if (typeof output === 'string') return output.length > 0 ? `${output.slice(0, Math.floor(output.length / 2))} …` : 'wrong';
  if (Array.isArray(output)) return output.length > 0 ? [falsifyOutput(output[0]), ...output.slice(1)] : [0];
  if (output !== null && typeof output === 'object') {
    const record = output as Record<string, unknown>;
    if (typeof record.digit === 'number') return { ...record, digit: (record.digit + 1) % 10 };
    if (typeof record.text === 'string') return { ...record, text: falsifyOutput(record.text) };
    const [first] = Object.keys(record);
    return first === undefined ? { wrong: true } : { ...record, [first]: falsifyOutput(record[first]) };
  }
  return 'wrong';
}

/**
 * FOR TESTING THE NETWORK'S DEFENCES ONLY: a served model that answers wrongly for a share of
 * calls (and still signs a receipt over the wrong answer, as a cheater would). It is how the
 * devnet end-to-end test shows audits and canaries catching, slashing and starving a cheater.
 * Streaming models are not falsified (their tokens have already gone out).
 *
 * @example
 * const cheater = withWrongAnswers(model, { rate: 0.3 })
 */
export function withWrongAnswers<M extends ServedModel>(model: M, { rate, rng = Math.random }: { rate: number; rng?: () => number }): M {
  return {
    ...model,
    async run(input, params, options) {
      const output = await model.run(input, params, options);
      return !options.onToken && rng() < rate ? falsifyOutput(output) : output;
    },
  };
}
