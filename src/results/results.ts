/**
 * The contract between the experiment runner (which writes results.jsonl, results.csv, summary.json and
 * summary.csv) and the reports (which read only those files), in three parts: what a trial records
 * (results_record.ts), the summary computed from many (results_summary.ts) and what a results folder
 * says about its run (results_run.ts). Import from here.
 */
export * from './results_record.js';
export * from './record_checksum.js';
export * from './results_summary.js';
export * from './results_run.js';
