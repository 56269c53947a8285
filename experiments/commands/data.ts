/** `peftscale data tasks | data sample`: the generated task suite, listed, or a few examples of one task. */
import { describeTasks, formatSamples, formatTaskTable, sampleExamples } from '../../datasets/commands.js';
import { buildTaskSuite, findTask } from '../../datasets/tasks.js';
import { unknownNameMessage } from '../../src/model/config.js';
import { booleanFlag, numberFlag, stringFlag } from '../../src/util/cli_args.js';
import { jsonFlag, type Command } from './command.js';

export const command: Command<void> = {
  name: 'data',
  summary: 'the generated task suite: list tasks, print samples',
  synopsis: 'usage: peftscale data tasks [--json] | peftscale data sample --task NAME --split train|dev|test --n 3',
  flags: [
    jsonFlag('print one JSON object instead of tables'),
    { name: 'task', type: 'string', description: 'task name (data sample)' },
    { name: 'split', type: 'string', description: 'train, dev or test (data sample)', default: 'train' },
    { name: 'n', type: 'integer', description: 'examples to print (data sample)', default: 3 },
    { name: 'seed', type: 'integer', description: 'world seed', default: 0 },
    { name: 'world-size', type: 'integer', description: 'characters in the generated world', default: 2000 },
  ],
  async run(args) {
    const [sub] = args.positionals;
    if (sub !== 'tasks' && sub !== 'sample') throw new Error(`peftscale data: ${unknownNameMessage('subcommand', sub ?? '(none)', ['tasks', 'sample'])}`);
    const tasks = buildTaskSuite({ seed: numberFlag(args, 'seed') ?? 0, worldSize: numberFlag(args, 'world-size') ?? 2000 });
    if (sub === 'tasks') {
      if (booleanFlag(args, 'json')) process.stdout.write(`${JSON.stringify({ tasks: describeTasks(tasks) }, null, 2)}\n`);
      else console.log(formatTaskTable(tasks));
      return;
    }
    const taskName = stringFlag(args, 'task');
    if (taskName === undefined) throw new Error(`peftscale data sample: --task is required; allowed: ${tasks.map((t) => t.name).join(', ')}`);
    const split = stringFlag(args, 'split') ?? 'train';
    if (split !== 'train' && split !== 'dev' && split !== 'test') throw new Error(`peftscale data sample: --split ${unknownNameMessage('split', split, ['train', 'dev', 'test'])}`);
    const task = findTask(tasks, taskName);
    const samples = sampleExamples(task, split, numberFlag(args, 'n') ?? 3, numberFlag(args, 'seed') ?? 0);
    if (booleanFlag(args, 'json')) process.stdout.write(`${JSON.stringify({ task: task.name, split, samples }, null, 2)}\n`);
    else console.log(formatSamples(task, split, samples));
  },
};
