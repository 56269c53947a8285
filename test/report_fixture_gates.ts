/**
 * Synthetic capability gates for the fixture's frozen models (reports/fixtures.ts): zero-shot accuracy
 * per fixture task, label-word loss split into deciding token and spelling, two skill probes, each beside
 * the never-trained control. They grow with size; `fail` makes the largest model's gates fail (for the
 * report's refusal), `absent` leaves them out (a run made before gates existed). Nothing here is measured.
 */
import type { CapabilityGates, GateScore } from '../src/results/results.js';

/** How the fixture's largest model fares at its gates. */
/** `other-skill-fails`: every task's own gate passes but a probe of a skill no task asks for fails. */
export type FixtureGates = 'pass' | 'fail' | 'other-skill-fails' | 'absent';

export const FIXTURE_GATE_RULE = 'fixture rule: every zero-shot and probe score above chance by 2 binomial standard errors and above the control';

const score = (model: number, chance: number, n = 200): GateScore => ({ model, control: chance + 0.01, chance, n });

/** The gates of the fixture preset at `size` (0 smallest) of `count`; null when `mode` is 'absent'. */
export function fixtureGates(size: number, count: number, tasks: readonly string[], mode: FixtureGates): CapabilityGates | undefined {
  if (mode === 'absent') return undefined;
  const largest = size === count - 1;
  // Below the largest size the skills are only beginning; the largest passes unless told to fail.
  const strength = largest && mode === 'fail' ? 0 : [0.05, 0.15, 0.35][Math.min(size, 2)];
  const zeroShot = Object.fromEntries(tasks.map((task, i) => [task, score(0.25 - 0.05 * i + strength, 0.25 - 0.05 * i)]));
  const labelLoss = Object.fromEntries(
    tasks.map((task) => [task, { model: { deciding: 1.4 - strength, spelling: 0.3 - 0.5 * strength }, control: { deciding: 5.6, spelling: 5.5 } }]),
  );
  const probes = { lookup: score(1 / 6 + 1.5 * strength, 1 / 6, 272), recall: score(0.1 + strength, 0.1, 300) };
  const passes = strength >= 0.1;
  const otherFails = largest && mode === 'other-skill-fails';
  return {
    zeroShot,
    labelLoss,
    probes: otherFails ? { ...probes, versus: score(0.5, 0.5, 96) } : probes,
    pass: passes && !otherFails,
    rule: FIXTURE_GATE_RULE,
    tasks: Object.fromEntries(tasks.map((task) => [task, { pass: passes, gate: 'probe: lookup', reasons: passes ? [] : ['probe lookup not above its control'] }])),
    reasons: otherFails ? ['probe versus 50.0% is within noise of chance 50.0%'] : passes ? [] : [`zero-shot ${tasks[0]} ${(100 * zeroShot[tasks[0]].model).toFixed(1)}% is within noise of chance ${(100 * zeroShot[tasks[0]].chance).toFixed(1)}%`, `probe lookup ${(100 * probes.lookup.model).toFixed(1)}% not above its control`],
  };
}
