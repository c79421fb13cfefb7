// The record of one search of `googlenet explore`, as DIR/explore.json holds it, the dashboard
// serves it (/api/explore/ID) and explore.md and the plots are drawn from it: worked out from the
// run store alone (searches, search_runs, runs, epochs), so any process that can read the store can
// report a search, live or finished.
import type { Summary } from '../stats/stats.js';

export const EXPLORE_STRATEGIES = ['random', 'evolution'] as const;
export type ExploreStrategy = (typeof EXPLORE_STRATEGIES)[number];

/** What a search is: its arguments, the search's identity (SearchRecord.spec); another spec is another search. */
export interface SearchSpec {
  format: 'googlenet-explore/1';
  /** The base network's name and SHA-256. */
  base: { name: string; hash: string };
  strategy: ExploreStrategy;
  /** Seed of the search's own random numbers (mutations, tournaments). */
  rng: number;
  /** Candidates trained at the first rung. */
  budget: number;
  /** Epochs of each rung, increasing. */
  rungs: number[];
  eta: number;
  maxParams: number | null;
  maxMacs: number | null;
  /** Evolution only (null for random): population size, tournament size, children per generation. */
  population: number | null;
  tournament: number | null;
  generation: number | null;
  dataset: string;
  /** The recipe's SHA-256 (recipeKeyHash of the base's search recipe: hold-out and seed included, epochs not). */
  recipeKey: string;
  /** The recipe the candidates train with (the base's, at the first rung's epochs), for readers. */
  recipe: Record<string, unknown>;
}

export type CandidateStatus = 'queued' | 'running' | 'complete' | 'failed';

export interface ExploreCandidate {
  /** 0: the base; 1, 2, …: candidates in the order proposed. */
  id: number;
  /** The network's name (`net-<first 10 hex digits of its hash>` for a candidate) and its layers on one line. */
  network: string;
  layers: string;
  hash: string;
  /** The candidate it mutates (0: the base), or null for the base. */
  parent: number | null;
  /** The mutation (src/explore/mutations.ts's Mutation) and its one-line text, or null for the base. */
  mutation: unknown | null;
  mutationText: string | null;
  generation: number;
  params: number;
  macs: number;
  /** The highest rung it reached (1-based). */
  rung: number;
  /** Validation top-1 error at the highest rung it finished, or null before its first. */
  valError: number | null;
  /** Validation top-1 error at each rung it finished, by the rung's epochs ("2": 0.61). */
  valErrors: Record<string, number>;
  /** Training seconds of its run so far (all its rungs). */
  seconds: number | null;
  status: CandidateStatus;
  /** Its run in the store. */
  runId: number;
  /** Its network file, relative to DIR: networks/<name>.json. */
  file: string;
}

export interface ExploreRung {
  epochs: number;
  /** Ids that reached this rung (promoted to it). */
  candidates: number[];
  /** The non-dominated set (validation top-1 error, MACs) of those that finished it. */
  front: number[];
  /** Every candidate of the rung finished it. */
  done: boolean;
}

export interface ConfirmedNetwork {
  /** A candidate's id, 0 for the base, or a --confirm network's id (after the candidates). */
  id: number;
  network: string;
  layers: string;
  hash: string;
  params: number;
  macs: number;
  /** Why it is confirmed: on the final front, the base, or named by --confirm. */
  why: ('front' | 'base' | 'confirm')[];
  seeds: { seed: number; runId: number; status: CandidateStatus; top1Error: number | null; top5Error: number | null; seconds: number | null }[];
  /** Over its complete seeds (test set). */
  top1: Summary | null;
  top5: Summary | null;
  /** Against the base (not for the base itself): Welch's difference (this minus the base), Holm over the k networks compared with it. */
  vsBase: { metric: 'top1' | 'top5'; difference: number | null; ci95: [number, number] | null; p: number | null; pHolm: number | null; significant: boolean; testable: boolean; reason?: string }[] | null;
}

export interface ExploreJson {
  generatedAt: string;
  search: { id: string; spec: SearchSpec; createdAt: string };
  /** The proposal stopped early: 100 draws in a row gave no new child within the limits. */
  exhausted: { atCandidate: number; why: Record<string, number> } | null;
  candidates: ExploreCandidate[];
  /** The final rung's front: its non-dominated set, on validation top-1 error and MACs. */
  front: number[];
  rungs: ExploreRung[];
  /** Confirmation (test set, the hold-out trained on, --confirm-seeds seeds), once it started. */
  confirmed: ConfirmedNetwork[];
  confirmSeeds: number;
}
