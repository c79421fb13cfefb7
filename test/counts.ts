// Our networks' parameter counts (CIFAR-100 and CIFAR-10 heads) and MACs per 32x32 image, as
// `summary` counts them: models.test.ts checks them, the chart fixture draws with them.
export const COUNTS: Record<string, { c100: number; c10: number; macs: number }> = {
  googlenet: { c100: 6258500, c10: 6166250, macs: 1521848320 },
  'googlenet-naive': { c100: 65736148, c10: 65291098, macs: 11160357696 },
  'googlenet-long': { c100: 9641924, c10: 9549674, macs: 1737723904 },
  'googlenet-short': { c100: 5271652, c10: 5179402, macs: 1270321152 },
  'googlenet-short2': { c100: 3523556, c10: 3431306, macs: 859672576 },
  // short3 and short4 are documented reconstructions (the seed counts 1,985,220 / 1,892,970 and 1,650,084 / 1,557,834)
  'googlenet-short3': { c100: 1965164, c10: 1872914, macs: 364810240 },
  'googlenet-short4': { c100: 1643796, c10: 1551546, macs: 156667904 },
};
