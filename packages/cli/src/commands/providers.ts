import { Command } from 'commander';
import type { Address } from 'viem';
import { getContractEvents } from 'viem/actions';
import { getModelName, AgoraError, auditCourtAbi, auditVerdicts, getOffersForModel, type AgoraClient } from '@agora/sdk';
import { createProviderScore, getScoreSummary, recordObservation } from '@agora/node/market';
import { addChainOptions, connectReader, formatTable, printResult, run, type ChainOptions } from '../connect.ts';
import { formatAmount, getTokenUnits } from '../amounts.ts';
import { resolveModel } from '../resolveModel.ts';

/** Latency the score assumes for every provider: nothing on-chain measures latency (the gateway does). */
const ASSUMED_LATENCY_MS = 1_000;

/** Every audit of a provider for a model resolved Pass or Fail, from AuditCourt's events since the deployment. */
async function getAuditRecord(client: AgoraClient, modelId: `0x${string}`): Promise<Map<string, { passed: number; failed: number }>> {
  const court = client.deployment.contracts.auditCourt;
  const record = new Map<string, { passed: number; failed: number }>();
  if (!court) return record; // a deployment whose court is an account, not the contract: no audit events
  const read = <T>(query: Promise<T>) =>
    query.catch((cause: unknown) => {
      throw new AgoraError('ChainCallFailed', 'Reading AuditCourt events failed.', {
        cause,
        fix: 'some RPC providers limit log queries to a block range; use an RPC URL without that limit.',
      });
    });
  const [opened, resolved] = await Promise.all([
    read(getContractEvents(client, { address: court, abi: auditCourtAbi, eventName: 'AuditOpened', fromBlock: client.deployment.startBlock })),
    read(getContractEvents(client, { address: court, abi: auditCourtAbi, eventName: 'AuditResolved', fromBlock: client.deployment.startBlock })),
  ]);
  const providerOf = new Map(
    opened.filter((log) => log.args.modelId?.toLowerCase() === modelId.toLowerCase()).map((log) => [log.args.auditId!, log.args.provider!.toLowerCase()]),
  );
  for (const log of resolved) {
    const provider = providerOf.get(log.args.auditId!);
    const outcome = auditVerdicts[Number(log.args.outcome)];
    // An Unverifiable audit (the opener's evidence missing or wrong) says nothing about the provider.
    if (!provider || (outcome !== 'Pass' && outcome !== 'Fail')) continue;
    const entry = record.get(provider) ?? { passed: 0, failed: 0 };
    if (outcome === 'Fail') entry.failed++;
    else entry.passed++;
    record.set(provider, entry);
  }
  return record;
}

/**
 * `agora providers --model <name|id>`: who serves a model, at what price and stake, and their
 * score from on-chain evidence only (resolved audits), computed with the same market code the
 * router and the simulator use.
 */
export function providersCommand(): Command {
  return addChainOptions(new Command('providers'))
    .description("list a model's providers: price, stake, resolved audits and the score they give (on-chain evidence only)")
    .requiredOption('--model <model>', 'registered model name or 0x model id')
    .action((options: ChainOptions & { model: string }) =>
      run(async () => {
        const client = await connectReader(options);
        const model = await resolveModel(client, options.model);
        const [offers, audits, units] = await Promise.all([
          getOffersForModel(client, { modelId: model.modelId, activeOnly: false }),
          getAuditRecord(client, model.modelId),
          getTokenUnits(client),
        ]);
        const rows = offers.map((offer) => {
          const record = audits.get(offer.provider.toLowerCase()) ?? { passed: 0, failed: 0 };
          let score = createProviderScore({ provider: offer.provider as Address, modelId: model.modelId, price: Number(offer.pricePerUnit), quotedLatencyMs: ASSUMED_LATENCY_MS });
          for (let i = 0; i < record.passed; i++) score = recordObservation(score, { kind: 'audit', passed: true });
          for (let i = 0; i < record.failed; i++) score = recordObservation(score, { kind: 'audit', passed: false });
          const summary = getScoreSummary(score);
          return {
            provider: offer.provider,
            endpoint: offer.endpoint,
            active: offer.providerActive,
            stake: offer.stake,
            pricePerUnit: offer.pricePerUnit,
            unit: offer.unit,
            auditsPassed: record.passed,
            auditsFailed: record.failed,
            auditPassRate: Math.round(summary.auditPassRate * 1000) / 1000,
            value: summary.value,
          };
        });
        rows.sort((a, b) => b.value - a.value);
        const name = getModelName(model) ?? model.modelId;
        printResult(options, { model: { name, modelId: model.modelId }, providers: rows }, () => {
          if (rows.length === 0) return [`nobody offers ${name}.`];
          const table = [
            ['PROVIDER', 'PRICE', 'STAKE', 'AUDITS (PASS/FAIL)', 'AUDIT PASS RATE', 'STATUS'],
            ...rows.map((r) => [
              r.provider,
              `${formatAmount(r.pricePerUnit, units)}/${r.unit}`,
              formatAmount(r.stake, units),
              `${r.auditsPassed}/${r.auditsFailed}`,
              r.auditPassRate.toFixed(3),
              r.active ? 'active' : 'inactive (unstaked or jailed)',
            ]),
          ];
          return [
            `${name} (${model.modelId}), best value first (audit pass rate × speed ÷ price; speed is measured by gateways, not on-chain):`,
            ...formatTable(table),
          ];
        });
      }),
    );
}
