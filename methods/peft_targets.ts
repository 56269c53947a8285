/**
 * PEFT's `target_modules` (and IA3's `feedforward_modules`) read against a GPT-2 here: which linear sites
 * a PEFT adapter adapts. PEFT matches every module name of the GPT2LMHeadModel it wraps
 * (`transformer.h.3.attn.c_attn`, `lm_head`, ...): a list entry matches a name equal to it or ending in
 * `.entry`; a string is a Python regular expression that must match the whole name; "all-linear" takes
 * every linear layer but the output head, and PEFT saves it resolved, as the list of full module paths.
 *
 * Here a method adapts a site (attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj) in every layer, so a
 * field is honoured when everything it matches is a linear site and each matched site is matched in every
 * layer; anything else is a problem that names the field, the value, what it matched and what is allowed.
 */
import type { ModelConfig } from '../src/model/config.js';
import { LINEAR_SITES, type LinearSite } from '../src/model/params.js';

/** Every module name of a GPT2LMHeadModel with `layers` blocks, as PyTorch's named_modules() lists them. */
export function gpt2ModuleNames(layers: number): string[] {
  const names = ['transformer', 'transformer.wte', 'transformer.wpe', 'transformer.drop', 'transformer.h'];
  for (let layer = 0; layer < layers; layer++) {
    const p = `transformer.h.${layer}`;
    names.push(p, `${p}.ln_1`, `${p}.attn`, `${p}.attn.c_attn`, `${p}.attn.c_proj`, `${p}.attn.attn_dropout`, `${p}.attn.resid_dropout`);
    names.push(`${p}.ln_2`, `${p}.mlp`, `${p}.mlp.c_fc`, `${p}.mlp.c_proj`, `${p}.mlp.act`, `${p}.mlp.dropout`);
  }
  names.push('transformer.ln_f', 'lm_head');
  return names;
}

const SITE_OF_MODULE = /^transformer\.h\.(\d+)\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)$/;

/** PEFT's matcher for one field's value, or a problem text when the value is not one PEFT accepts. */
function matcher(value: unknown): ((name: string) => boolean) | string {
  if (value === 'all-linear') return (name) => SITE_OF_MODULE.test(name);
  if (typeof value === 'string') {
    try {
      const pattern = new RegExp(`^(?:${value})$`); // Python's re.fullmatch
      return (name) => pattern.test(name);
    } catch (error) {
      return `not a regular expression this build can read (${(error as Error).message})`;
    }
  }
  if (Array.isArray(value) && value.length > 0 && value.every((entry) => typeof entry === 'string' && entry !== '')) {
    const entries = value as string[];
    return (name) => entries.some((entry) => name === entry || name.endsWith(`.${entry}`));
  }
  return 'allowed: a list of module names, "all-linear", or a regular expression (a string)';
}

/**
 * The sites a target field selects, in LINEAR_SITES order, or null with problems pushed. For a list, each
 * entry must match something, so a misspelt name is named rather than silently ignored.
 */
export function peftTargetSites(field: string, value: unknown, config: ModelConfig, problems: string[]): LinearSite[] | null {
  const shown = `${field} = ${JSON.stringify(value)}`;
  const match = matcher(value);
  if (typeof match === 'string') {
    problems.push(`${shown}: ${match}`);
    return null;
  }
  const names = gpt2ModuleNames(config.nLayers);
  const before = problems.length;
  if (Array.isArray(value)) {
    for (const entry of value as string[]) {
      if (!names.some((name) => name === entry || name.endsWith(`.${entry}`))) problems.push(`${shown}: "${entry}" matches no module of GPT-2 (a linear layer is transformer.h.N.attn.c_attn, attn.c_proj, mlp.c_fc or mlp.c_proj)`);
    }
  }
  const matched = names.filter(match);
  const layersOf = new Map<LinearSite, Set<number>>();
  const other: string[] = [];
  for (const name of matched) {
    const site = SITE_OF_MODULE.exec(name);
    if (site === null) other.push(name);
    else layersOf.set(site[2] as LinearSite, (layersOf.get(site[2] as LinearSite) ?? new Set()).add(Number(site[1])));
  }
  if (other.length > 0) problems.push(`${shown}: matches ${other.slice(0, 3).join(', ')}${other.length > 3 ? ` and ${other.length - 3} more` : ''}, not linear layers here; allowed: names that match only attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj`);
  if (matched.length === 0 && problems.length === before) problems.push(`${shown}: matches no module of GPT-2; allowed: names or a pattern that match attn.c_attn, attn.c_proj, mlp.c_fc or mlp.c_proj`);
  for (const [site, layers] of layersOf) {
    if (layers.size !== config.nLayers) {
      problems.push(`${shown}: ${site} is matched in layer${layers.size === 1 ? '' : 's'} ${[...layers].join(', ')} of ${config.nLayers}; allowed: every layer (adapting some layers only is not supported)`);
    }
  }
  if (problems.length > before) return null;
  return LINEAR_SITES.filter((site) => layersOf.has(site));
}

/**
 * Our `targets` option for a PEFT field: a list of the short names we accept is kept as written (so it is
 * written back the same); anything else (full paths, a pattern) becomes the sites it resolves to.
 */
export function targetsOption(value: unknown, sites: readonly LinearSite[], accepted: readonly string[]): string[] {
  if (value === 'all-linear' && accepted.includes('all-linear')) return ['all-linear'];
  if (Array.isArray(value) && value.every((entry) => typeof entry === 'string' && accepted.includes(entry))) return value as string[];
  return [...sites];
}
