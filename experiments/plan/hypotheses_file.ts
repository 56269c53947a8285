/**
 * The hypotheses of an experiment file as the report needs them: those of a given file (for
 * `peftscale report --hypotheses FILE`), and those of the file a results folder was run from, read again
 * at report time so that the report can tell recorded hypotheses from edited ones.
 */
import { existsSync } from 'node:fs';
import type { Hypothesis } from '../../src/results/hypotheses.js';
import { experimentPath, resolveExperiment, shippedExperiments } from './spec.js';

/** A file's hypotheses under a profile (checked against its plan, like a run would). */
export function hypothesesOfFile(file: string, profile: string): { file: string; list: Hypothesis[] } {
  const resolved = resolveExperiment(experimentPath(file), profile, { allowMissingCheckpoints: true });
  return { file: resolved.file, list: resolved.hypotheses };
}

/**
 * The hypotheses now in the file a run was made from: the recorded path, else (a checkout that moved) the
 * shipped experiment of the same name; null when neither can be read and resolved.
 */
export function currentHypotheses(runFile: string, experiment: string, profile: string): { file: string; list: Hypothesis[] } | null {
  const file = existsSync(runFile) ? runFile : shippedExperiments().includes(experiment) ? experiment : null;
  if (file === null) return null;
  try {
    return hypothesesOfFile(file, profile);
  } catch {
    return null;
  }
}
