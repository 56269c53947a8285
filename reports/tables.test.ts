import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureLoaded } from '../test/report_fixtures.js';
import { mixedBackends, runTable } from './tables.js';

describe('run table', () => {
  it('says when cached records ran on another backend than the run (trial keys do not include it)', () => {
    const { manifest, records } = fixtureLoaded();
    const run = manifest.environment.backend;
    assert.equal(mixedBackends(manifest, records), null);
    assert.doesNotMatch(runTable(manifest, records), /more than one backend/);
    const other = run === 'wasm' ? 'cpu' : 'wasm';
    const mixed = records.map((r, i) => (i < 2 ? { ...r, environment: { ...r.environment, backend: other } } : r));
    assert.equal(
      mixedBackends(manifest, mixed),
      `records ran on more than one backend (${run} ${records.length - 2}, ${other} 2): cached trials from another backend were reused; scores are reproducible per backend`,
    );
    assert.match(runTable(manifest, mixed), new RegExp(`${run} \\(this run\\); records ran on more than one backend`));
  });
});
