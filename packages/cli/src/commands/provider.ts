import { Command } from 'commander';
import {
  getModelName,
  AgoraError,
  getCredit,
  getModels,
  getOffer,
  getProvider,
  registerProvider,
  removeOffer,
  requestUnbond,
  setOffer,
  stake,
  updateProvider,
  withdrawCredit,
  withdrawUnbonded,
  type CreditSource,
} from '@agora/sdk';
import { addKeyOptions, loadAddress, type KeySourceOptions } from '../keys.ts';
import { addChainOptions, chainNow, connectReader, connectSigner, formatTime, parseAddress, printResult, run, type ChainOptions } from '../connect.ts';
import { checkBalance, formatAmount, getTokenUnits, parseAmount } from '../amounts.ts';
import { resolveModel } from '../resolveModel.ts';

type SignOptions = ChainOptions & KeySourceOptions;
type AmountOptions = SignOptions & { amount: string; units?: boolean };

const UNITS_HELP = 'read amounts as integer token base units instead of tokens';

/** A provider subcommand that signs: chain flags, key flags, then its own. */
function signing(name: string): Command {
  return addChainOptions(addKeyOptions(new Command(name), 'provider'));
}

/** `agora provider`: register, stake, unbond, withdraw and price offers; show a provider's state. */
export function providerCommand(): Command {
  const provider = new Command('provider').description('a provider account on chain: registration, stake, offers, status');

  provider.addCommand(
    signing('register')
      .description('register the key as a provider at an endpoint URL (or change the endpoint if already registered)')
      .requiredOption('--endpoint <url>', 'URL where the provider node answers calls')
      .action((options: SignOptions & { endpoint: string }) =>
        run(async () => {
          const client = await connectSigner(options, 'provider');
          const record = await getProvider(client, { provider: client.account.address });
          const result = record.registered
            ? await updateProvider(client, { endpoint: options.endpoint, publicKey: record.publicKey })
            : await registerProvider(client, { endpoint: options.endpoint });
          const verb = record.registered ? 'updated' : 'registered';
          printResult(options, { provider: client.account.address, endpoint: options.endpoint, action: verb, hash: result.hash }, () => [
            `${verb} provider ${client.account.address} at ${options.endpoint}`,
            `  tx ${result.hash}`,
          ]);
        }),
      ),
  );

  provider.addCommand(
    signing('stake')
      .description('lock more stake (approves the registry for the amount first if needed)')
      .requiredOption('--amount <amount>', 'tokens to stake, e.g. 100 or 12.5 (base units with --units)')
      .option('--units', UNITS_HELP)
      .action((options: AmountOptions) =>
        run(async () => {
          const client = await connectSigner(options, 'provider');
          const units = await getTokenUnits(client);
          const amount = parseAmount(options.amount, { flag: '--amount', decimals: units.decimals, units: options.units });
          // The registry only takes stake from registered providers; checked before the SDK approves it.
          if (!(await getProvider(client, { provider: client.account.address })).registered) {
            throw new AgoraError('NotRegistered', `${client.account.address} is not a registered provider.`, { fix: 'register first: `agora provider register --endpoint <url>`.' });
          }
          await checkBalance(client, amount, units, '--amount');
          const result = await stake(client, { amount });
          const after = await getProvider(client, { provider: client.account.address });
          printResult(options, { provider: client.account.address, staked: amount, stake: after.stake, active: after.active, hash: result.hash }, () => [
            `staked ${formatAmount(amount, units)}; stake is now ${formatAmount(after.stake, units)}${after.active ? '' : ` (below the minimum ${formatAmount(client.deployment.parameters.minStake, units)}: not active yet)`}`,
            `  tx ${result.hash}`,
          ]);
        }),
      ),
  );

  provider.addCommand(
    signing('unbond')
      .description('start unbonding stake; it stays slashable until withdrawn after the unbonding delay')
      .requiredOption('--amount <amount>', 'tokens to unbond (base units with --units)')
      .option('--units', UNITS_HELP)
      .action((options: AmountOptions) =>
        run(async () => {
          const client = await connectSigner(options, 'provider');
          const units = await getTokenUnits(client);
          const amount = parseAmount(options.amount, { flag: '--amount', decimals: units.decimals, units: options.units });
          const result = await requestUnbond(client, { amount });
          const now = await chainNow(client);
          printResult(options, { provider: client.account.address, unbonding: amount, readyAt: result.readyAt, hash: result.hash }, () => [
            `unbonding ${formatAmount(amount, units)}; withdraw it with \`agora provider withdraw\` from ${formatTime(result.readyAt, now)}`,
            '  (a new unbond adds to what is already unbonding and restarts the delay)',
            `  tx ${result.hash}`,
          ]);
        }),
      ),
  );

  provider.addCommand(
    signing('withdraw')
      .description('withdraw stake whose unbonding delay has passed; with --credit, withdraw earned credit instead')
      .option('--credit', 'withdraw the credit JobMarket and PaymentChannels hold for the account')
      .action((options: SignOptions & { credit?: boolean }) =>
        run(async () => {
          const client = await connectSigner(options, 'provider');
          const units = await getTokenUnits(client);
          if (!options.credit) {
            const result = await withdrawUnbonded(client);
            return printResult(options, { provider: client.account.address, withdrawn: result.amount, hash: result.hash }, () => [
              `withdrew ${formatAmount(result.amount, units)} of unbonded stake`,
              `  tx ${result.hash}`,
            ]);
          }
          const withdrawn: { from: CreditSource; amount: bigint; hash: string }[] = [];
          for (const from of ['jobMarket', 'paymentChannels'] as const) {
            if ((await getCredit(client, { account: client.account.address, from })) === 0n) continue;
            const result = await withdrawCredit(client, { from });
            withdrawn.push({ from, amount: result.amount, hash: result.hash });
          }
          if (withdrawn.length === 0) {
            throw new AgoraError('NothingToWithdraw', `${client.account.address} has no credit to withdraw.`, {
              fix: 'credit comes from redeemed vouchers and finalized jobs; see `agora provider status`.',
            });
          }
          printResult(options, { provider: client.account.address, withdrawn }, () =>
            withdrawn.map((w) => `withdrew ${formatAmount(w.amount, units)} of credit from ${w.from} (tx ${w.hash})`),
          );
        }),
      ),
  );

  provider.addCommand(
    signing('offer')
      .description('offer a model at a price per unit (or withdraw the offer with --remove)')
      .requiredOption('--model <name|id>', 'model name (see `agora models`) or 0x model id')
      .option('--price <amount>', 'price per unit in tokens, e.g. 0.001 (base units with --units)')
      .option('--unit <unit>', 'what one unit is: call, token, …', 'call')
      .option('--remove', 'withdraw the offer for the model')
      .option('--units', UNITS_HELP)
      .action((options: SignOptions & { model: string; price?: string; unit: string; remove?: boolean; units?: boolean }) =>
        run(async () => {
          if (options.remove === (options.price !== undefined)) {
            throw new AgoraError('InvalidArguments', options.remove ? 'Pass either --price or --remove, not both.' : 'No price given.', {
              fix: 'pass --price <amount> to set the offer, or --remove to withdraw it.',
            });
          }
          const client = await connectSigner(options, 'provider');
          const [model, units] = await Promise.all([resolveModel(client, options.model), getTokenUnits(client)]);
          const label = getModelName(model) ?? model.modelId;
          if (options.remove) {
            const result = await removeOffer(client, { modelId: model.modelId });
            return printResult(options, { provider: client.account.address, modelId: model.modelId, removed: true, hash: result.hash }, () => [
              `removed the offer for ${label} (${model.modelId})`,
              `  tx ${result.hash}`,
            ]);
          }
          const price = parseAmount(options.price!, { flag: '--price', decimals: units.decimals, units: options.units });
          const result = await setOffer(client, { modelId: model.modelId, pricePerUnit: price, unit: options.unit });
          printResult(options, { provider: client.account.address, modelId: model.modelId, pricePerUnit: price, unit: options.unit, hash: result.hash }, () => [
            `offering ${label} (${model.modelId}) at ${formatAmount(price, units)} per ${options.unit}`,
            `  tx ${result.hash}`,
          ]);
        }),
      ),
  );

  provider.addCommand(
    addChainOptions(addKeyOptions(new Command('status'), 'provider'))
      .description("a provider's registration, stake, unbonding, jail, offers and claimable credit")
      .argument('[address]', 'provider address (default: the address of the key flags, no password needed)')
      .action((address: string | undefined, options: SignOptions) =>
        run(async () => {
          const who = address !== undefined ? parseAddress(address, 'The provider') : loadAddress(options, 'provider');
          if (!who) {
            throw new AgoraError('MissingAddress', 'No provider address given.', { fix: 'pass the address, or --keystore <name> / --key-file / AGORA_PRIVATE_KEY for your own.' });
          }
          const client = await connectReader(options);
          const [record, units, models, now, jobCredit, channelCredit] = await Promise.all([
            getProvider(client, { provider: who }),
            getTokenUnits(client),
            getModels(client),
            chainNow(client),
            getCredit(client, { account: who, from: 'jobMarket' }),
            getCredit(client, { account: who, from: 'paymentChannels' }),
          ]);
          const offers = (
            await Promise.all(models.map(async (model) => ({ model, offer: await getOffer(client, { provider: who, modelId: model.modelId }) })))
          )
            .filter(({ offer }) => offer.active)
            .map(({ model, offer }) => ({ modelId: model.modelId, name: getModelName(model) ?? null, pricePerUnit: offer.pricePerUnit, unit: offer.unit }));
          const jailed = record.jailedUntil > now;
          const minStake = client.deployment.parameters.minStake;
          const data = {
            address: who,
            registered: record.registered,
            endpoint: record.endpoint,
            active: record.active,
            stake: record.stake,
            minStake,
            unbondingAmount: record.unbondingAmount,
            unbondingReadyAt: record.unbondingReadyAt,
            jailed,
            jailedUntil: record.jailedUntil,
            offers,
            credit: { jobMarket: jobCredit, paymentChannels: channelCredit, total: jobCredit + channelCredit },
          };
          printResult(options, data, () => {
            if (!record.registered) return [`${who} is not a registered provider.`, '  register with `agora provider register --endpoint <url>`.'];
            const why = record.active ? 'yes: may take work' : jailed ? 'no: jailed' : `no: stake below the minimum ${formatAmount(minStake, units)}`;
            return [
              `provider ${who}`,
              `  endpoint   ${record.endpoint}`,
              `  active     ${why}`,
              `  stake      ${formatAmount(record.stake, units)}`,
              `  unbonding  ${record.unbondingAmount === 0n ? 'none' : `${formatAmount(record.unbondingAmount, units)}, withdrawable from ${formatTime(record.unbondingReadyAt, now)}`}`,
              `  jailed     ${jailed ? `until ${formatTime(record.jailedUntil, now)}` : 'no'}`,
              `  credit     ${formatAmount(jobCredit + channelCredit, units)} claimable (jobMarket ${formatAmount(jobCredit, units)}, paymentChannels ${formatAmount(channelCredit, units)})`,
              offers.length === 0 ? '  offers     none' : '  offers',
              ...offers.map((o) => `    ${(o.name ?? '-').padEnd(16)}${o.modelId}  ${formatAmount(o.pricePerUnit, units)} per ${o.unit}`),
            ];
          });
        }),
      ),
  );
  return provider;
}
