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
}
