/**
 * A dataset recipe: how the official files of one benchmark become a label-word classification task (the
 * loader fields of datasets/loaders.ts: format, text fields, label field, verbaliser, template). Each
 * recipe is one module under datasets/recipes/, listed once in datasets/recipes/index.ts; an experiment's
 * dataset entry names a recipe and its files, and may override any field the recipe sets.
 */
import type { LoaderConfig } from './loaders.js';

/** The loader fields a recipe fixes (everything but the name, the file paths and whether the format was stated). */
export type RecipeFields = Omit<LoaderConfig, 'name' | 'files' | 'formatFromContent'>;

export interface Recipe {
  name: string;
  /** One line: the benchmark, its files and what the label words are. */
  description: string;
  /** The official file names, for help texts and error messages. */
  officialFiles: string;
  /** Fields the recipe sets; undefined for the generic recipe, whose entry declares them all. */
  fields: RecipeFields | undefined;
  /** The text field shortened first when an input does not fit the context (default: the longest). */
  truncateField?: string;
  /** Why the task is verbalised this way, where it is not obvious (COPA). */
  note?: string;
  /** Where the official files come from, named when an experiment's file is missing. */
  source?: RecipeSource;
}

/** A benchmark's release and its copy on the Hugging Face Hub, by this project's split names. */
export interface RecipeSource {
  /** The release and its download, e.g. "SuperGLUE v2: https://dl.fbaipublicfiles.com/glue/superglue/data/v2/RTE.zip". */
  release: string;
  /** The file of each split in the release (test files carry no labels: leave test out, it is carved from train). */
  files: Partial<Record<'train' | 'dev', string>>;
  /** `datasets.load_dataset(name, config)`; its split per split here. Its Parquet or to_json files read as they are. */
  hub: { name: string; config: string; splits: Partial<Record<'train' | 'dev', string>> };
}

/** Where a recipe's file of one split comes from, in words ("" when the recipe names no source). */
export function sourceText(recipe: Recipe, split: 'train' | 'dev' | 'test'): string {
  const source = recipe.source;
  if (source === undefined) return recipe.fields === undefined ? 'your own file (recipe "generic")' : '';
  if (split === 'test') return `${source.release} has no labelled test file: leave files.test out (test is then the dev file, or carved from train)`;
  const hub = source.hub;
  return `${split === 'dev' ? 'the validation file' : 'the training file'} ${source.files[split]} of ${source.release}, or Hugging Face datasets "${hub.name}" config "${hub.config}" split "${hub.splits[split]}" (its Parquet file or to_json output reads as it is)`;
}
