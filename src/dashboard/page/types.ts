// The API's documents as the page reads them (the server's types, src/dashboard/api.ts, by import
// of types only: nothing of the server's code reaches the browser).
export type { RunSummary, RunDetail, RunRecipe, ResultTable, ResultTables, ComparisonTable } from '../api.js';
export type { NetworkEntry } from '../../experiment/report.js';
export type { Chart } from '../../experiment/charts.js';
export type { EpochRecord } from '../../train/record.js';
export type { SearchSummary } from '../api.js';
export type { ExploreJson, ExploreCandidate, ExploreRung, ConfirmedNetwork } from '../../explore/explore-json.js';
