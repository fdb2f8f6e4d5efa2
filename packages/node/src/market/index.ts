// The market: provider scores from evidence, routing by expected value, audit sampling and the
// economics of slashing. Pure code without I/O, shared by the gateway and the simulator.
export * from './providerScore.ts';
export * from './epochRoot.ts';
export * from './router.ts';
export * from './auditPolicy.ts';
export * from './slashingEconomics.ts';
