/**
 * Text for the CLI's `params` command: Hugging Face PEFT's print_trainable_parameters line, then the
 * tensors behind it.
 */
import type { ParameterPlan } from '../src/adapt/adapted.js';

const count = (n: number): string => n.toLocaleString('en-US');

function optionText(plan: ParameterPlan): string {
  const entries = Object.entries(plan.options).map(([name, value]) => `${name}=${Array.isArray(value) ? value.join(',') : String(value)}`);
  return entries.length === 0 ? '' : ` (${entries.join(' ')})`;
}

/** Rows of name, shape and count, aligned. */
function table(rows: readonly { name: string; shape: readonly number[]; count: number }[]): string[] {
  const shapes = rows.map((row) => `[${row.shape.join(', ')}]`);
  const nameWidth = Math.max(...rows.map((row) => row.name.length));
  const shapeWidth = Math.max(...shapes.map((shape) => shape.length));
  const countWidth = Math.max(...rows.map((row) => count(row.count).length));
  return rows.map((row, i) => `  ${row.name.padEnd(nameWidth)}  ${shapes[i].padEnd(shapeWidth)}  ${count(row.count).padStart(countWidth)}`);
}

/**
 * The plan as text: "trainable params: 294,912 || all params: 124,734,720 || trainable%: 0.2370" (PEFT's
 * format), every added and every trainable base tensor, the frozen base as one summary line, and the
 * closed-form count with whether it agrees. Pure: allocates nothing.
 */
export function formatParameterPlan(plan: ParameterPlan): string {
  const lines = [
    `method: ${plan.method}${optionText(plan)}`,
    `trainable params: ${count(plan.trainable)} || all params: ${count(plan.total)} || trainable%: ${plan.percent.toFixed(4)}`,
    `added tensors (${plan.added.length}): ${plan.added.length === 0 ? 'none' : count(plan.added.reduce((sum, p) => sum + p.count, 0))}`,
    ...(plan.added.length === 0 ? [] : table(plan.added)),
    `trainable base tensors (${plan.trainableBase.length}): ${plan.trainableBase.length === 0 ? 'none' : count(plan.trainableBase.reduce((sum, p) => sum + p.count, 0))}`,
    ...(plan.trainableBase.length === 0 ? [] : table(plan.trainableBase)),
    `frozen base tensors (${plan.frozenBase.length}): ${count(plan.frozen)} params`,
    `closed form: ${count(plan.closedForm)} (${plan.closedForm === plan.trainable ? 'matches the declared shapes' : `MISMATCH: declared shapes give ${count(plan.trainable)}`})`,
  ];
  return `${lines.join('\n')}\n`;
}
