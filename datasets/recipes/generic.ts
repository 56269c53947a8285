/** Any JSONL, CSV or TSV file: the entry declares format, text fields, label field, label words and (optionally) template. */
import type { Recipe } from '../recipe.js';

export const GENERIC: Recipe = {
  name: 'generic',
  description: 'any JSONL/CSV/TSV: the entry declares format, textFields, labelField, labelWords and optionally template, idField',
  officialFiles: 'your own files',
  fields: undefined,
};
