/**
 * Data files an experiment needs and lacks, named before anything is planned: each with the recipe's
 * source (the GLUE/SuperGLUE download and the Hugging Face `datasets` name), so that a run on a fresh
 * machine says everything to fetch, first among the problems, instead of an ENOENT per dataset.
 * Only datasets that some sweep's tasks use are looked at (a profile may declare more than it runs).
 */
import { existsSync } from 'node:fs';
import { RECIPES } from '../../datasets/recipes/index.js';
import { sourceText } from '../../datasets/recipe.js';
import { TASK_NAMES } from '../../datasets/tasks.js';
import { SPLIT_NAMES } from '../../datasets/types.js';
import type { ExperimentDocument } from './experiment_document.js';

/** One line per missing file: the field, the path, and where the file comes from. */
export function missingDataFiles(document: ExperimentDocument): Array<{ dataset: string; line: string }> {
  const used = new Set((document.sweeps ?? []).flatMap((sweep) => sweep.tasks ?? document.tasks ?? [...TASK_NAMES]));
  const lines: Array<{ dataset: string; line: string }> = [];
  for (const [name, entry] of Object.entries(document.datasets ?? {})) {
    if (!used.has(name) || typeof entry?.files !== 'object' || entry.files === null) continue;
    const recipe = RECIPES.find((r) => r.name === entry.recipe);
    for (const split of SPLIT_NAMES) {
      const file = entry.files[split];
      if (typeof file !== 'string' || existsSync(file)) continue;
      const source = recipe === undefined ? '' : sourceText(recipe, split);
      lines.push({ dataset: name, line: `datasets.${name}.files.${split} = ${JSON.stringify(file)}: not found${source === '' ? '' : `; it is ${source}`}` });
    }
  }
  return lines;
}
