/**
 * A row's raw label value → its labelWords key. Hugging Face `datasets` stores labels as ClassLabel
 * indices (RTE's "entailment" is 0), so an integer that is not itself a key is read as a class index into
 * the recipe's class names, and a class name that is not a key as its index (SST-2's keys are 0 and 1).
 */
export function labelKey(raw: string, field: string, labelWords: Record<string, string>, classLabels: readonly string[] | undefined, report: (message: string) => void): string | null {
  if (Object.hasOwn(labelWords, raw)) return raw;
  const allowed = Object.keys(labelWords).join(', ');
  if (classLabels === undefined) {
    report(`label ${JSON.stringify(raw)} is not in labelWords (allowed: ${allowed})`);
    return null;
  }
  const classes = classLabels.map((name, i) => `${i} ${name}`).join(', ');
  if (/^-?\d+$/.test(raw)) {
    const index = Number(raw);
    if (!(index >= 0 && index < classLabels.length)) {
      report(`field ${JSON.stringify(field)} = ${raw}: an integer label is a class index (as datasets' ClassLabel); allowed: 0 to ${classLabels.length - 1} (${classes}), or a label ${allowed}`);
      return null;
    }
    const name = classLabels[index];
    if (Object.hasOwn(labelWords, name)) return name;
    report(`field ${JSON.stringify(field)} = ${raw} is class "${name}", which is not in labelWords (allowed: ${allowed})`);
    return null;
  }
  const index = classLabels.indexOf(raw);
  if (index >= 0 && Object.hasOwn(labelWords, String(index))) return String(index);
  report(`label ${JSON.stringify(raw)} is not in labelWords (allowed: ${allowed}); integer labels 0 to ${classLabels.length - 1} are read as classes (${classes})`);
  return null;
}
