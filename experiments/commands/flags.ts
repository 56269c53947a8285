/**
 * The flags several commands share, each defined once here: its name, type, the values it allows
 * (checked when the command line is parsed) and its default. A command lists the ones it takes.
 */
import { BACKEND_ENV_VAR, BACKEND_NAMES } from '../../src/model/backend.js';
import type { FlagSpec } from '../../src/util/cli_args.js';
import { DEFAULT_CACHE_DIR } from '../pretrain/pretrain_family.js';
import { PRETRAIN_PROFILES, PROFILE_NAMES } from '../pretrain/pretrain_profiles.js';
import { DEFAULT_RESULTS_DIR } from '../run/results_files.js';
import { DEFAULT_TRIAL_CACHE_DIR } from '../run/trial_cache.js';

/** The TensorFlow.js backend: one of src/model/backend.ts's names, or auto (the first that loads). */
export const BACKEND_FLAG: FlagSpec = {
  name: 'backend',
  type: 'string',
  description: `${BACKEND_NAMES.join(', ')} or auto (default: $${BACKEND_ENV_VAR}, else auto: the first that loads in that order)`,
  choices: [...BACKEND_NAMES, 'auto'],
  noun: 'backend',
  env: BACKEND_ENV_VAR,
};

export const PROFILE_FLAG: FlagSpec = {
  name: 'profile',
  type: 'string',
  description: Object.entries(PRETRAIN_PROFILES).map(([name, profile]) => `${name}: ${profile.description}`).join('; '),
  default: 'quick',
  choices: PROFILE_NAMES,
  noun: 'profile',
};

/** --profile of the commands that read an experiment file, which may name its own profile. */
export const EXPERIMENT_PROFILE_FLAG: FlagSpec = { ...PROFILE_FLAG, default: 'the experiment file\'s "profile", else quick' };

export const RESULTS_FLAG: FlagSpec = { name: 'results', type: 'string', description: 'results root: results go to <root>/<experiment>/', default: DEFAULT_RESULTS_DIR };
export const CACHE_FLAG: FlagSpec = { name: 'cache', type: 'string', description: 'pretrained model cache', default: DEFAULT_CACHE_DIR };
export const TRIAL_CACHE_FLAG: FlagSpec = { name: 'trial-cache', type: 'string', description: 'finished-trial cache (may be shared by several runs)', default: DEFAULT_TRIAL_CACHE_DIR };
export const REPLACE_FLAG: FlagSpec = {
  name: 'replace',
  type: 'boolean',
  description: 'replace a results folder made by another experiment file, or one with more finished trials (otherwise kept, and the new results go beside it)',
};
export const NO_REPORT_FLAG: FlagSpec = { name: 'no-report', type: 'boolean', description: 'do not write the HTML report at the end (peftscale report RESULTS writes it later)' };

/** The flags of a command that runs or collects an experiment into a results folder, in help order. */
export const RUN_FLAGS: readonly FlagSpec[] = [BACKEND_FLAG, RESULTS_FLAG, CACHE_FLAG, TRIAL_CACHE_FLAG, REPLACE_FLAG, NO_REPORT_FLAG];
