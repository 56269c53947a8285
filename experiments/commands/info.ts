/** `peftscale info`: versions, the backend and why it was chosen, the methods, every preset with its parameter count. */
import '../../methods/index.js';
import { registeredMethods } from '../../src/adapt/peft.js';
import { describeBackend, initBackend } from '../../src/model/backend.js';
import { PRESETS } from '../../src/model/config.js';
import { countParameters, modelParameterSpecs } from '../../src/model/params.js';
import { booleanFlag, stringFlag } from '../../src/util/cli_args.js';
import { jsonFlag, type Command } from './command.js';
import { BACKEND_FLAG } from './flags.js';

export const command: Command<void> = {
  name: 'info',
  summary: 'versions, the backend and why, every preset with its parameter count',
  synopsis: 'usage: peftscale info [--json] [--backend NAME]',
  flags: [BACKEND_FLAG, jsonFlag('print one JSON object instead of tables')],
  async run(args) {
    const backend = await initBackend(stringFlag(args, 'backend')); // described in the output below, not on stderr
    const presets = PRESETS.map((preset) => ({
      name: preset.name,
      kind: preset.kind,
      params: countParameters(modelParameterSpecs(preset.config)),
      ...preset.config,
    }));
    if (booleanFlag(args, 'json')) {
      process.stdout.write(`${JSON.stringify({ backend: backend.name, backendProvider: backend.provider, backendSkipped: backend.skipped, versions: backend.versions, presets }, null, 2)}\n`);
      return;
    }
    console.log(`peftscale, ${describeBackend(backend)}`);
    console.log(`versions: ${Object.entries(backend.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    console.log(`methods: ${registeredMethods().map((m) => m.name).join(', ')}`);
    console.log('\npresets (parameters counted from declared shapes; the LM head is tied to wte):');
    console.log(`  ${'name'.padEnd(12)}${'kind'.padEnd(10)}${'params'.padStart(15)}  ${'d'.padStart(5)} ${'L'.padStart(3)} ${'H'.padStart(3)} ${'d_ff'.padStart(5)} ${'vocab'.padStart(6)} ${'ctx'.padStart(5)}`);
    for (const p of presets) {
      console.log(
        `  ${p.name.padEnd(12)}${p.kind.padEnd(10)}${p.params.toLocaleString('en-US').padStart(15)}  ${String(p.dModel).padStart(5)} ${String(p.nLayers).padStart(3)} ${String(p.nHeads).padStart(3)} ${String(p.dFF).padStart(5)} ${String(p.vocabSize).padStart(6)} ${String(p.contextLength).padStart(5)}`,
      );
    }
  },
};
