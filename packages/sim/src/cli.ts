#!/usr/bin/env -S npx tsx
// `npm run sim -- --providers 10000 --calls 1000000`: runs the market with cheaters and the same
// providers all honest, and prints the economics table (docs/economics.md).
import { parseArgs } from 'node:util';
import { ALL_HONEST_MIX, defaultSimParameters, formatEconomicsReport, getEconomicsReport, getEvenMix, simulate, type SimParameters } from './index.ts';

const { values } = parseArgs({
  options: {
    providers: { type: 'string' },
    calls: { type: 'string' },
    seed: { type: 'string' },
    models: { type: 'string' },
    rate: { type: 'string' },
    p: { type: 'string' },
    'newcomer-p': { type: 'string' },
    canary: { type: 'string' },
    stake: { type: 'string' },
    slash: { type: 'string' },
    exploration: { type: 'string' },
    'prefill-factor': { type: 'string' },
    'tolerance-share': { type: 'string' },
    'honest-share': { type: 'string' },
    'canary-leak': { type: 'string' },
    'second-opinion': { type: 'string' },
    rules: { type: 'string' },
    'probation-canary': { type: 'string' },
    patience: { type: 'string' },
    'no-sweep': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help) {
  console.log(`Usage: npm run sim -- [options]
  --providers N        provider identities at the start (1000)
  --calls N            organic calls (100000)
  --seed N             random seed (1)
  --models N           models on offer (10)
  --rate N             calls per second network-wide (providers / 50)
  --p X                audit probability per receipt, established providers (0.02)
  --newcomer-p X       audit probability while new (0.1)
  --canary X           canary calls per organic call, established providers (0.01)
  --stake X            minimum stake, tokens (100)
  --slash X            slash per confirmed cheat, tokens (50)
  --exploration X      router's newcomer share (0.03)
  --prefill-factor X   tolerance verification cost / generation cost (0.2)
  --tolerance-share X  share of models verified by tolerance (0.5)
  --honest-share X     share of honest providers; the rest split evenly over the 10 cheating strategies (0.8)
  --canary-leak X      how much better than chance cheat-when-unwatched spots canaries (0)
  --second-opinion X   share of passed audits re-checked by a panel (0.05)
  --rules new|old      the audit court played against: issue 9's (new) or the one before (old)
  --probation-canary X canary share of a provider's first 10 calls (0.25)
  --patience N         honest calls a court attacker serves before it cheats (0)
  --no-sweep           do not audit a convicted provider's other held receipts`);
  process.exit(0);
}

const num = (name: keyof typeof values): number | undefined => {
  const raw = values[name];
  if (raw === undefined || typeof raw === 'boolean') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n)) {
    console.error(`--${name} must be a number, got "${raw}"`);
    process.exit(2);
  }
  return n;
};

const base = defaultSimParameters({
  ...(num('providers') !== undefined ? { providers: num('providers')! } : {}),
  ...(num('calls') !== undefined ? { calls: num('calls')! } : {}),
});
const honestShare = num('honest-share') ?? 0.8;
const rules = values.rules ?? 'new';
if (rules !== 'new' && rules !== 'old') {
  console.error(`--rules must be "new" or "old", got "${rules}"`);
  process.exit(2);
}
const parameters: SimParameters = {
  ...base,
  seed: num('seed') ?? base.seed,
  models: num('models') ?? base.models,
  callsPerSecond: num('rate') ?? base.callsPerSecond,
  mix: getEvenMix(honestShare),
  rules,
  attack: { ...base.attack, patienceCalls: num('patience') ?? base.attack.patienceCalls },
  sweepAfterConviction: !values['no-sweep'],
  audit: { ...base.audit, probationCanaryRate: num('probation-canary') ?? base.audit.probationCanaryRate, baseRate: num('p') ?? base.audit.baseRate, newcomerRate: num('newcomer-p') ?? base.audit.newcomerRate, canaryRate: num('canary') ?? base.audit.canaryRate },
  slashing: { ...base.slashing, minStake: num('stake') ?? base.slashing.minStake, slashAmount: num('slash') ?? base.slashing.slashAmount },
  router: { ...base.router, explorationShare: num('exploration') ?? base.router.explorationShare },
  prefillFactor: num('prefill-factor') ?? base.prefillFactor,
  toleranceShare: num('tolerance-share') ?? base.toleranceShare,
  canaryLeak: num('canary-leak') ?? base.canaryLeak,
  secondOpinionRate: num('second-opinion') ?? base.secondOpinionRate,
};

const started = performance.now();
const mixed = simulate(parameters);
const mixedSeconds = (performance.now() - started) / 1000;
const allHonest = simulate({ ...parameters, mix: ALL_HONEST_MIX });
const totalSeconds = (performance.now() - started) / 1000;

const { audit, slashing } = parameters;
console.log(
  `rules ${parameters.rules}; providers ${parameters.providers}, calls ${parameters.calls}, seed ${parameters.seed}, models ${parameters.models}, ${parameters.callsPerSecond} calls/s; ` +
    `p ${audit.baseRate} (newcomers ${audit.newcomerRate} for ${audit.newcomerCalls} calls), canaries ${audit.canaryRate} (newcomers ${audit.newcomerCanaryRate}, first ${audit.probationCalls} calls ${audit.probationCanaryRate}); ` +
    `batches of ${parameters.court.batchSize}, sweep ${parameters.sweepAfterConviction ? 'on' : 'off'}; ` +
    `stake ${slashing.minStake}, slash ${slashing.slashAmount}, exploration ${parameters.router.explorationShare}, prefill factor ${parameters.prefillFactor}`,
);
console.log(formatEconomicsReport(getEconomicsReport(mixed, allHonest)));
console.log(`epoch root (mixed world): ${mixed.epochRoot}; simulated ${(mixed.simulatedSeconds / 3600).toFixed(2)} h`);
console.log(`run time: ${totalSeconds.toFixed(1)} s (mixed world ${mixedSeconds.toFixed(1)} s, all-honest world ${(totalSeconds - mixedSeconds).toFixed(1)} s)`);
