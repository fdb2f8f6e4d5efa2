import { Command } from 'commander';
import { getModelName, getModels, getOffersForModel } from '@agora/sdk';
import { addChainOptions, connectReader, formatTable, printResult, run, type ChainOptions } from '../connect.ts';
import { formatAmount, getTokenUnits } from '../amounts.ts';

/** `agora models`: every registered model with its live offers and cheapest price. */
export function modelsCommand(): Command {
  return addChainOptions(new Command('models'))
    .description('list every registered model: name, id, runtime, format, verification mode, active offers and the cheapest price')
    .action((options: ChainOptions) =>
      run(async () => {
        const client = await connectReader(options);
        const [models, units] = await Promise.all([getModels(client), getTokenUnits(client)]);
        const rows = await Promise.all(
          models.map(async (model) => {
            // Only offers from providers that may take work now (registered, staked, not jailed).
            const offers = await getOffersForModel(client, { modelId: model.modelId });
            const cheapest = offers[0];
            return {
              name: getModelName(model) ?? null,
              modelId: model.modelId,
              runtime: model.runtime,
              quantization: model.quantization,
              format: model.format,
              verificationMode: model.verificationMode,
              metadataURI: model.metadataURI,
              activeOffers: offers.length,
              cheapest: cheapest ? { provider: cheapest.provider, pricePerUnit: cheapest.pricePerUnit, unit: cheapest.unit } : null,
            };
          }),
        );
        printResult(options, { models: rows }, () => {
          if (rows.length === 0) return ['no models registered.'];
          const table = [
            ['NAME', 'ID', 'RUNTIME', 'FORMAT', 'VERIFY', 'OFFERS', 'CHEAPEST'],
            ...rows.map((r) => [
              r.name ?? '-',
              r.modelId,
              r.quantization ? `${r.runtime}/${r.quantization}` : r.runtime,
              r.format,
              r.verificationMode,
              String(r.activeOffers),
              r.cheapest ? `${formatAmount(r.cheapest.pricePerUnit, units)}/${r.cheapest.unit} (${r.cheapest.provider})` : '-',
            ]),
          ];
          return formatTable(table);
        });
      }),
    );
}
