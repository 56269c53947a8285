import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBar, formatDuration, formatEta, formatProgressLine, formatRate, Progress, type ProgressStream } from './progress.js';

describe('formatDuration', () => {
  it('uses the largest sensible units', () => {
    assert.equal(formatDuration(0), '0.0s');
    assert.equal(formatDuration(0.44), '0.4s');
    assert.equal(formatDuration(12.3), '12s');
    assert.equal(formatDuration(59.4), '59s');
    assert.equal(formatDuration(59.6), '1m00s');
    assert.equal(formatDuration(185), '3m05s');
    assert.equal(formatDuration(3720), '1h02m');
    assert.equal(formatDuration(2 * 86400 + 3 * 3600 + 59), '2d03h');
  });
  it('shows unknown durations as --', () => {
    assert.equal(formatDuration(NaN), '--');
    assert.equal(formatDuration(Infinity), '--');
    assert.equal(formatDuration(-1), '--');
  });
});

describe('formatEta', () => {
  it('extrapolates the rate so far', () => {
    assert.equal(formatEta(25, 100, 10), 'ETA 30s');
    assert.equal(formatEta(1, 1000, 1), 'ETA 16m39s');
  });
  it('has no estimate before progress, and zero when finished', () => {
    assert.equal(formatEta(0, 100, 5), 'ETA --');
    assert.equal(formatEta(10, 100, 0), 'ETA --');
    assert.equal(formatEta(100, 100, 5), 'ETA 0.0s');
  });
  it('ignores work done before the clock started (resumed runs)', () => {
    // 60 of 100 were done before; 10 more in 10 s: 30 left at 1/s.
    assert.equal(formatEta(70, 100, 10, 60), 'ETA 30s');
  });
});

describe('formatRate and formatBar', () => {
  it('scales rates', () => {
    assert.equal(formatRate(0.05, 'step'), '0.050 step/s');
    assert.equal(formatRate(3.21, 'step'), '3.2 step/s');
    assert.equal(formatRate(512, 'tok'), '512 tok/s');
    assert.equal(formatRate(12_400, 'tok'), '12.4k tok/s');
    assert.equal(formatRate(NaN, 'tok'), '-- tok/s');
  });
  it('fills the bar in proportion and clamps', () => {
    assert.equal(formatBar(0, 10, 10), '[..........]');
    assert.equal(formatBar(5, 10, 10), '[#####.....]');
    assert.equal(formatBar(20, 10, 4), '[####]');
    assert.equal(formatBar(1, 0, 4), '[....]');
  });
});

describe('formatProgressLine', () => {
  it('shows label, bar, counts, rate, elapsed, ETA and fields', () => {
    const line = formatProgressLine({ label: 'ps-nano', done: 40, total: 100, elapsedSeconds: 20, unit: 'step', barWidth: 10, fields: { loss: 2.31456, 'tok/s': 4100, note: 'ok' } });
    assert.equal(line, 'ps-nano [####......] 40/100 2.0 step/s 20s ETA 30s loss=2.315 tok/s=4100 note=ok');
  });
});

/** A stream that records writes. */
function collector(isTTY: boolean): ProgressStream & { text: string } {
  const stream = {
    text: '',
    isTTY,
    columns: 80,
    write(chunk: string): boolean {
      stream.text += chunk;
      return true;
    },
  };
  return stream;
}

describe('Progress', () => {
  it('prints a plain line at most every interval when not a TTY', () => {
    let now = 0;
    const stream = collector(false);
    const progress = new Progress({ label: 'job', total: 10, stream, intervalSeconds: 5, now: () => now });
    progress.update(1); // first update always prints
    now = 2000;
    progress.update(2); // too soon
    now = 6000;
    progress.update(3, { loss: 1.5 });
    progress.line('a message');
    progress.done();
    progress.update(9); // ignored after done
    const lines = stream.text.trimEnd().split('\n');
    assert.equal(lines.length, 4);
    assert.match(lines[0], /^job \[.*\] 1\/10 /);
    assert.match(lines[1], /^job \[.*\] 3\/10 .* loss=1\.500$/);
    assert.equal(lines[2], 'a message');
    assert.match(lines[3], /3\/10/);
    assert.ok(!stream.text.includes('\r'));
  });

  it('redraws in place on a TTY and keeps line() messages', () => {
    let now = 0;
    const stream = collector(true);
    const progress = new Progress({ label: 'job', total: 4, stream, now: () => now });
    progress.update(1);
    now = 1000;
    progress.update(2);
    progress.line('kept');
    now = 2000;
    progress.done();
    assert.ok(stream.text.startsWith('\rjob'));
    assert.ok(stream.text.includes('kept\n'));
    assert.ok(stream.text.endsWith('\n'));
    // Every drawn line is padded to the terminal width minus one, so leftovers of longer lines vanish.
    for (const drawn of stream.text.split('\r').filter((part) => part.startsWith('job'))) assert.equal(drawn.replace(/\n.*$/s, '').length, 79);
  });

  it('counts the time a step took before the display was created', () => {
    const stream = collector(false);
    // Created right after step 1, which took 0.5 s: the rate is 2 step/s, not one step per clock tick.
    const progress = new Progress({ label: 'p', total: 240, stream, unit: 'step', startDone: 0, elapsedSeconds: 0.5, now: () => 0 });
    progress.update(1);
    assert.match(stream.text, /2\.0 step\/s/);
    assert.match(stream.text, /ETA 2m00s/);
  });

  it('counts only this session towards the rate when resumed', () => {
    let now = 0;
    const progress = new Progress({ label: 'r', total: 100, stream: collector(false), startDone: 60, now: () => now });
    now = 10_000;
    progress.update(70);
    assert.match(progress.render(), / 70\/100 1\.0 it\/s 10s ETA 30s$/);
  });
});
