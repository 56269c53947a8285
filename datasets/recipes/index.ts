/** Every dataset recipe, listed once: an experiment's dataset entry names one of these. */
import type { Recipe } from '../recipe.js';
import { BOOLQ } from './boolq.js';
import { CB } from './cb.js';
import { COPA } from './copa.js';
import { GENERIC } from './generic.js';
import { RTE } from './rte.js';
import { SST2 } from './sst2.js';

export const RECIPES: readonly Recipe[] = [SST2, RTE, CB, BOOLQ, COPA, GENERIC];

export const RECIPE_NAMES: readonly string[] = RECIPES.map((recipe) => recipe.name);
