/**
 * The hypotheses of an experiment file as the report needs them: those now in the file a results folder
 * was run from (read as a document, includes and profile merged, so the report can tell recorded
 * hypotheses from edited ones without loading any method), and those of another file given for a report
 * (`peftscale report --hypotheses FILE`), checked against that file's plan as a run would check them.
 */
import { existsSync } from 'node:fs';
import type { Hypothesis } from '../../src/results/hypotheses.js';
import { loadExperimentDocument, mergeDocuments, shippedExperimentFile } from './document.js';

/** A file's hypotheses under a profile, checked against its plan (loads the planner and the method registry). */
export async function hypothesesOfFile(file: string, profile: string): Promise<{ file: string; list: Hypothesis[] }> {
  const { experimentPath, resolveExperiment } = await import('./spec.js');
  const resolved = resolveExperiment(experimentPath(file), profile, { allowMissingCheckpoints: true });
  return { file: resolved.file, list: resolved.hypotheses };
}

/**
 * The hypotheses now in the file a run was made from: the recorded path, else (a checkout that moved) the
 * shipped experiment file of the same name; null when neither can be read.
 */
export function currentHypotheses(runFile: string, experiment: string, profile: string): { file: string; list: Hypothesis[] } | null {
  const file = existsSync(runFile) ? runFile : shippedExperimentFile(experiment);
  if (file === null) return null;
  try {
    const { profiles, ...document } = loadExperimentDocument(file);
    const own = typeof profiles === 'object' && profiles !== null && Object.hasOwn(profiles, profile) ? (profiles as Record<string, Record<string, unknown>>)[profile] : {};
    return { file, list: (mergeDocuments(document, own).hypotheses as Hypothesis[] | undefined) ?? [] };
  } catch {
    return null;
  }
}
