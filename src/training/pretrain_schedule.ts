/**
 * A pretraining run's budget and optimiser settings (the schedule), validated with defaults filled in,
 * and its learning rate at each step: linear warmup, then cosine decay to a fraction of the peak.
 */
import { definedOnly, type ModelConfig } from '../model/config.js';

/** The training budget and optimiser settings. */
export interface PretrainSchedule {
  /** Optimiser steps in all. */
  steps: number;
  /** Rows per batch. */
  batchSize: number;
  /** Tokens per row (≤ the model's context length). */
  sequenceLength: number;
  /** Peak learning rate (reached after warmup). */
  learningRate: number;
  /** Linear warmup steps from 0 to the peak. */
  warmupSteps: number;
  /** Cosine decay ends at this fraction of the peak (default 0.1). */
  finalLearningRateFraction: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Decoupled (AdamW) weight decay on rank ≥ 2 tensors; 0 = off (default). */
  weightDecay: number;
  /** Clip gradients to this global L2 norm; 0 = off (default 1). */
  gradientClip: number;
}

/** A schedule where only the budget is required; the rest have defaults. */
export type PretrainScheduleInput = Pick<PretrainSchedule, 'steps' | 'batchSize' | 'sequenceLength' | 'learningRate'> & Partial<PretrainSchedule>;

/** Fills in defaults and validates (each problem names the field, value and what is allowed). */
export function resolveSchedule(input: PretrainScheduleInput, config?: ModelConfig): PretrainSchedule {
  const schedule: PretrainSchedule = {
    warmupSteps: Math.min(100, Math.floor(input.steps / 10)),
    finalLearningRateFraction: 0.1,
    beta1: 0.9,
    beta2: 0.95,
    epsilon: 1e-8,
    weightDecay: 0,
    gradientClip: 1,
    ...definedOnly(input),
  } as PretrainSchedule;
  const problems: string[] = [];
  const integer = (field: keyof PretrainSchedule, min: number): void => {
    const value = schedule[field];
    if (!Number.isInteger(value) || value < min) problems.push(`${field} = ${JSON.stringify(value)}: must be an integer ≥ ${min}`);
  };
  const number = (field: keyof PretrainSchedule, ok: (v: number) => boolean, allowed: string): void => {
    const value = schedule[field];
    if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) problems.push(`${field} = ${JSON.stringify(value)}: must be ${allowed}`);
  };
  integer('steps', 1);
  integer('batchSize', 1);
  integer('sequenceLength', 2);
  integer('warmupSteps', 0);
  number('learningRate', (v) => v > 0, 'a number > 0');
  number('finalLearningRateFraction', (v) => v >= 0 && v <= 1, 'in [0, 1]');
  number('beta1', (v) => v >= 0 && v < 1, 'in [0, 1)');
  number('beta2', (v) => v >= 0 && v < 1, 'in [0, 1)');
  number('epsilon', (v) => v > 0, 'a number > 0');
  number('weightDecay', (v) => v >= 0, 'a number ≥ 0');
  number('gradientClip', (v) => v >= 0, 'a number ≥ 0 (0 = off)');
  if (config !== undefined && schedule.sequenceLength > config.contextLength) {
    problems.push(`sequenceLength = ${schedule.sequenceLength}: must be ≤ the model's context length ${config.contextLength}`);
  }
  if (problems.length > 0) throw new Error(`invalid pretraining schedule:\n  ${problems.join('\n  ')}`);
  return schedule;
}

/** The learning rate of 0-based step `step`: linear warmup, then cosine decay to the final fraction. */
export function learningRateAt(step: number, schedule: PretrainSchedule): number {
  const { learningRate: peak, warmupSteps, steps, finalLearningRateFraction: fraction } = schedule;
  if (step < warmupSteps) return (peak * (step + 1)) / (warmupSteps + 1);
  const decaySteps = Math.max(1, steps - warmupSteps - 1);
  const progress = Math.min(1, (step - warmupSteps) / decaySteps);
  return peak * (fraction + (1 - fraction) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}
