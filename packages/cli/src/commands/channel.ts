import { Command } from 'commander';
import type { Address, Hex } from 'viem';
import { getContractEvents } from 'viem/actions';
import {
  getModelName,
  AgoraError,
  getChannel,
  getModel,
  getOffer,
  getProvider,
  openChannel,
  paymentChannelsAbi,
  requestChannelClose,
  topUpChannel,
  withdrawChannel,
  type AgoraClient,
  type GetChannelReturnType,
} from '@agora/sdk';
import { addKeyOptions, loadAddress, type KeySourceOptions } from '../keys.ts';
import { addChainOptions, chainNow, connectReader, connectSigner, formatTime, parseAddress, printResult, run, type ChainOptions } from '../connect.ts';
import { checkBalance, formatAmount, getTokenUnits, parseAmount } from '../amounts.ts';
import { resolveModel } from '../resolveModel.ts';

type SignOptions = ChainOptions & KeySourceOptions;

const UNITS_HELP = 'read amounts as integer token base units instead of tokens';

function signing(name: string): Command {
  return addChainOptions(addKeyOptions(new Command(name), 'buyer'));
}

/** `agora channel`: a buyer's payment channels: open, top up, close, withdraw, status, list. */
export function channelCommand(): Command {
  const channel = new Command('channel').description('payment channels from a buyer to a provider for one model');

  channel.addCommand(
    signing('open')
      .description("open a channel to a provider for a model, locking a deposit (approves the contract first if needed)")
      .requiredOption('--provider <address>', 'provider address (see `agora models`, `agora provider status`)')
      .requiredOption('--model <name|id>', 'model name (see `agora models`) or 0x model id')
      .requiredOption('--deposit <amount>', 'tokens to lock, e.g. 10 (base units with --units)')
      .option('--signer <address>', 'hot key that signs vouchers (default: the buyer key)')
      .option('--max-royalty-bps <bps>', "highest model royalty you agree to, e.g. the rate in the provider's quote (default: the model's rate now)")
      .option('--units', UNITS_HELP)
      .action((options: SignOptions & { provider: string; model: string; deposit: string; signer?: string; maxRoyaltyBps?: string; units?: boolean }) =>
        run(async () => {
          const provider = parseAddress(options.provider, '--provider');
          const signer = options.signer === undefined ? undefined : parseAddress(options.signer, '--signer');
          const maxRoyaltyBps = options.maxRoyaltyBps === undefined ? undefined : parseRoyaltyBps(options.maxRoyaltyBps);
          const client = await connectSigner(options, 'buyer');
          const [model, units] = await Promise.all([resolveModel(client, options.model), getTokenUnits(client)]);
          const deposit = parseAmount(options.deposit, { flag: '--deposit', decimals: units.decimals, units: options.units });
          const label = getModelName(model) ?? model.modelId;
          // Checked here, not left to the contract: openChannel approves first, and that approval
          // would be sent even though the open then reverts.
          const [offer, record] = await Promise.all([getOffer(client, { provider, modelId: model.modelId }), getProvider(client, { provider })]);
          if (!offer.active || !record.active) {
            throw new AgoraError('ProviderUnavailable', `Provider ${provider} ${!offer.active ? `has no offer for ${label}` : 'may not take work now (not staked at the minimum, or jailed)'}.`, {
              fix: `pick a provider from \`agora models\` or check it with \`agora provider status ${provider}\`.`,
            });
          }
          // Also checked before the approval: the publisher may have raised the rate since it was quoted.
          if (maxRoyaltyBps !== undefined && model.royaltyBps > maxRoyaltyBps) {
            throw new AgoraError('RoyaltyAboveMax', `${label} now pays its publisher ${model.royaltyBps} bps, above the ${maxRoyaltyBps} bps you agreed to.`, {
              fix: 'ask the provider for a new quote; a provider refuses vouchers on a channel whose royalty is above what it accepts.',
            });
          }
          await checkBalance(client, deposit, units, '--deposit');
          const result = await openChannel(client, { provider, modelId: model.modelId, deposit, signer, maxRoyaltyBps: maxRoyaltyBps ?? model.royaltyBps });
          printResult(options, { channelId: result.channelId, provider, modelId: model.modelId, deposit, pricePerUnit: offer.pricePerUnit, unit: offer.unit, hash: result.hash }, () => [
            `opened channel ${result.channelId}`,
            `  to ${provider} for ${label}, deposit ${formatAmount(deposit, units)} (${formatAmount(offer.pricePerUnit, units)} per ${offer.unit}: ${offer.pricePerUnit === 0n ? '-' : (deposit / offer.pricePerUnit).toString()} ${offer.unit}s)`,
            `  model royalty capped at ${model.royaltyBps} bps for the channel's life`,
            `  tx ${result.hash}`,
          ]);
        }),
      ),
  );

  channel.addCommand(
    signing('topup')
      .description("add to an open channel's deposit")
      .argument('<channelId>', 'channel id (0x…, 32 bytes)')
      .requiredOption('--amount <amount>', 'tokens to add (base units with --units)')
      .option('--units', UNITS_HELP)
      .action((id: string, options: SignOptions & { amount: string; units?: boolean }) =>
        run(async () => {
          const channelId = parseChannelId(id);
          const client = await connectSigner(options, 'buyer');
          const units = await getTokenUnits(client);
          const amount = parseAmount(options.amount, { flag: '--amount', decimals: units.decimals, units: options.units });
          const before = await getChannel(client, { channelId });
          if (before.buyer !== client.account.address || before.status !== 'Open') {
            throw new AgoraError('ChannelNotToppable', before.status !== 'Open' ? `Channel ${channelId} is ${before.status}; only an open channel can be topped up.` : `${client.account.address} is not the buyer of channel ${channelId} (${before.buyer} is).`, {
              fix: before.status !== 'Open' ? 'open a new channel with `agora channel open`.' : 'sign with the buyer key.',
            });
          }
          await checkBalance(client, amount, units, '--amount');
          const result = await topUpChannel(client, { channelId, amount });
          const after = await getChannel(client, { channelId });
          printResult(options, { channelId, added: amount, deposit: after.deposit, remaining: after.deposit - after.redeemed, hash: result.hash }, () => [
            `topped up ${channelId} by ${formatAmount(amount, units)}; deposit ${formatAmount(after.deposit, units)}, ${formatAmount(after.deposit - after.redeemed, units)} left`,
            `  tx ${result.hash}`,
          ]);
        }),
      ),
  );

  channel.addCommand(
    signing('close')
      .description('start a unilateral close; the provider may still redeem until the challenge period ends, then run `agora channel withdraw`')
      .argument('<channelId>', 'channel id (0x…, 32 bytes)')
      .action((id: string, options: SignOptions) =>
        run(async () => {
          const channelId = parseChannelId(id);
          const client = await connectSigner(options, 'buyer');
          const result = await requestChannelClose(client, { channelId });
          const now = await chainNow(client);
          printResult(options, { channelId, status: 'Closing', closesAt: result.closesAt, hash: result.hash }, () => [
            `closing ${channelId}: the provider can redeem its last vouchers until ${formatTime(result.closesAt, now)}`,
            `  then take back the rest with \`agora channel withdraw ${channelId}\``,
            `  tx ${result.hash}`,
          ]);
        }),
      ),
  );

  channel.addCommand(
    signing('withdraw')
      .description('finish a unilateral close after its challenge period: the unredeemed deposit returns to the buyer')
      .argument('<channelId>', 'channel id (0x…, 32 bytes)')
      .action((id: string, options: SignOptions) =>
        run(async () => {
          const channelId = parseChannelId(id);
          const client = await connectSigner(options, 'buyer');
          const units = await getTokenUnits(client);
          const result = await withdrawChannel(client, { channelId });
          printResult(options, { channelId, status: 'Closed', refund: result.refund, hash: result.hash }, () => [
            `closed ${channelId}; ${formatAmount(result.refund, units)} returned to ${client.account.address}`,
            `  tx ${result.hash}`,
          ]);
        }),
      ),
  );

  channel.addCommand(
    addChainOptions(new Command('status'))
      .description("a channel's provider, buyer, model, deposit, redeemed and remaining amounts, status and close time")
      .argument('<channelId>', 'channel id (0x…, 32 bytes)')
      .action((id: string, options: ChainOptions) =>
        run(async () => {
          const channelId = parseChannelId(id);
          const client = await connectReader(options);
          const [record, units, now] = await Promise.all([getChannel(client, { channelId }), getTokenUnits(client), chainNow(client)]);
          const name = await getModel(client, { modelId: record.modelId }).then(getModelName, () => undefined);
          printResult(options, { ...describeChannel(record), modelName: name ?? null }, () => [
            `channel ${channelId}`,
            `  status     ${record.status}${record.status === 'Closing' ? (record.closesAt <= now ? ' (challenge over: `agora channel withdraw` now)' : '') : ''}`,
            `  buyer      ${record.buyer}`,
            `  provider   ${record.provider}`,
            `  model      ${name ?? '-'} ${record.modelId}`,
            `  deposit    ${formatAmount(record.deposit, units)}`,
            `  redeemed   ${formatAmount(record.redeemed, units)}`,
            `  remaining  ${formatAmount(record.deposit - record.redeemed, units)}`,
            `  closesAt   ${formatTime(record.closesAt, now)}`,
          ]);
        }),
      ),
  );

  channel.addCommand(
    addChainOptions(addKeyOptions(new Command('list'), 'buyer'))
      .description('channels an address opened as buyer or serves as provider, from ChannelOpened events')
      .argument('[address]', 'address (default: the address of the key flags, no password needed)')
      .action((address: string | undefined, options: SignOptions) =>
        run(async () => {
          const who = address !== undefined ? parseAddress(address, 'The address') : loadAddress(options, 'buyer');
          if (!who) throw new AgoraError('MissingAddress', 'No address given.', { fix: 'pass the address, or --keystore <name> / --key-file / AGORA_PRIVATE_KEY for your own.' });
          const client = await connectReader(options);
          const [channels, units] = await Promise.all([listChannels(client, who), getTokenUnits(client)]);
          printResult(options, { address: who, channels: channels.map((c) => ({ ...describeChannel(c.record), role: c.role })) }, () =>
            channels.length === 0
              ? [`no channels for ${who}`]
              : channels.map(
                  ({ record, role }) =>
                    `${record.channelId}  ${role.padEnd(8)} ${record.status.padEnd(7)} ${formatAmount(record.deposit - record.redeemed, units)} left of ${formatAmount(record.deposit, units)}  ${role === 'buyer' ? `provider ${record.provider}` : `buyer ${record.buyer}`}`,
                ),
          );
        }),
      ),
  );
  return channel;
}

/** Channels `who` opened or serves, oldest first, read from ChannelOpened events since the deployment. */
async function listChannels(client: AgoraClient, who: Address): Promise<{ role: 'buyer' | 'provider'; record: GetChannelReturnType }[]> {
  const query = (args: { buyer: Address } | { provider: Address }) =>
    getContractEvents(client, {
      address: client.deployment.contracts.paymentChannels,
      abi: paymentChannelsAbi,
      eventName: 'ChannelOpened',
      args,
      fromBlock: client.deployment.startBlock,
    }).catch((cause) => {
      throw new AgoraError('ChainCallFailed', 'Reading ChannelOpened events failed.', {
        cause,
        fix: 'some RPC providers limit log queries to a block range; use an RPC URL without that limit, or query `agora channel status <id>` per channel.',
      });
    });
  const [asBuyer, asProvider] = await Promise.all([query({ buyer: who }), query({ provider: who })]);
  const opened = [...asBuyer.map((log) => ({ role: 'buyer' as const, log })), ...asProvider.map((log) => ({ role: 'provider' as const, log }))].sort((a, b) =>
    a.log.blockNumber === b.log.blockNumber ? a.log.logIndex - b.log.logIndex : a.log.blockNumber < b.log.blockNumber ? -1 : 1,
  );
  return Promise.all(opened.map(async ({ role, log }) => ({ role, record: await getChannel(client, { channelId: log.args.channelId! }) })));
}

function describeChannel(record: GetChannelReturnType) {
  return { ...record, remaining: record.deposit - record.redeemed };
}

/** A royalty rate in basis points, 0–3000 (the ModelRegistry's bound). */
function parseRoyaltyBps(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 3_000) {
    throw new AgoraError('InvalidNumber', `--max-royalty-bps must be an integer from 0 to 3000, got ${value}.`);
  }
  return Number(value);
}

function parseChannelId(value: string): Hex {
  if (!/^0x[0-9a-fA-F]{64}$/.test(value)) {
    throw new AgoraError('InvalidChannelId', `"${value}" is not a channel id.`, { fix: 'pass the 0x-prefixed 32-byte id `agora channel open` printed (or see `agora channel list`).' });
  }
  return value.toLowerCase() as Hex;
}

