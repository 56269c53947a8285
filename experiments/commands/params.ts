/**
 * `peftscale params`: trainable, frozen and total parameters of a method on a model, from declared shapes
 * (nothing is allocated). Flags the command does not declare are the method's options (`--length 20`,
 * `--rank 8 --targets c_attn`), which the method validates itself (unknown ones get a "did you mean").
 */
import '../../methods/index.js';
import { formatParameterPlan } from '../../methods/commands.js';
import { planParameters } from '../../src/adapt/adapted.js';
import { baselineMethod } from '../../src/adapt/method_card.js';
import { getMethod, resolveOptions } from '../../src/adapt/peft.js';
import { PRESETS, resolveModelConfig } from '../../src/model/config.js';
import { booleanFlag, numberFlag, stringFlag, type FlagSpec } from '../../src/util/cli_args.js';
import { jsonFlag, type Command } from './command.js';

const SHAPE_FLAGS: FlagSpec[] = [
  { name: 'model', type: 'string', description: `preset: ${PRESETS.map((p) => p.name).join(', ')}` },
  { name: 'd-model', type: 'integer', description: 'custom shape: width' },
  { name: 'layers', type: 'integer', description: 'custom shape: number of blocks' },
  { name: 'heads', type: 'integer', description: 'custom shape: attention heads' },
  { name: 'd-ff', type: 'integer', description: 'custom shape: MLP width (default 4 × d-model)' },
  { name: 'vocab', type: 'integer', description: 'custom shape: vocabulary size (default 260, the byte tokenizer)' },
  { name: 'context', type: 'integer', description: 'custom shape: context length (default 256)' },
];

export const command: Command<void> = {
  name: 'params',
  summary: 'trainable, frozen and total parameters of a method on a model (allocates nothing)',
  synopsis: 'usage: peftscale params --model PRESET|custom shape --method NAME [method options] [--json]',
  flags: [...SHAPE_FLAGS, { name: 'method', type: 'string', description: 'method name' }, jsonFlag('print one JSON object instead of tables')],
  extraFlags: "the method's options (e.g. --length 20, --rank 8 --targets c_attn)",
  async run(args) {
    const config = resolveModelConfig(stringFlag(args, 'model'), {
      dModel: numberFlag(args, 'd-model'),
      nLayers: numberFlag(args, 'layers'),
      nHeads: numberFlag(args, 'heads'),
      dFF: numberFlag(args, 'd-ff'),
      vocabSize: numberFlag(args, 'vocab'),
      contextLength: numberFlag(args, 'context'),
    });
    const method = getMethod(stringFlag(args, 'method') ?? baselineMethod().name);
    const options = resolveOptions(method, args.extra, config);
    const plan = planParameters(config, method, options); // declared shapes only: nothing is allocated
    if (booleanFlag(args, 'json')) {
      process.stdout.write(`${JSON.stringify({ model: stringFlag(args, 'model') ?? 'custom', config, ...plan }, null, 2)}\n`);
      return;
    }
    console.log(formatParameterPlan(plan));
  },
};
