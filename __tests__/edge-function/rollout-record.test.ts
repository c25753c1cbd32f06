import { formatRolloutRecord, parseRolloutRecord } from '../../edge-function/shared/rollout-record';

const A = '0123456789abcdef';
const B = 'fedcba9876543210';

describe('rollout record', () => {
  it('round-trips a rollout and a settled state', () => {
    const rolling = { stable: A, canary: B, weight: 2500, salt: 'd-ABCDEF123' };
    expect(formatRolloutRecord(rolling)).toBe(`v=1 stable=${A} canary=${B} weight=2500 salt=d-ABCDEF123`);
    expect(parseRolloutRecord(formatRolloutRecord(rolling))).toEqual(rolling);
    const settled = { stable: A, canary: null, weight: 0, salt: null };
    expect(parseRolloutRecord(formatRolloutRecord(settled))).toEqual(settled);
  });

  it('joins TXT strings split by DNS', () => {
    const text = `v=1 stable=${A} canary=${B} weight=100 salt=s1`;
    expect(parseRolloutRecord([text.slice(0, 20), text.slice(20)])).toEqual({ stable: A, canary: B, weight: 100, salt: 's1' });
  });

  it.each([
    ['empty', ''],
    ['unknown version', `v=2 stable=${A} canary=${B} weight=1 salt=s`],
    ['unknown key', `v=1 stable=${A} canary=${B} weight=1 salt=s extra=1`],
    ['duplicate key', `v=1 stable=${A} stable=${A} canary=${B} weight=1 salt=s`],
    ['missing salt', `v=1 stable=${A} canary=${B} weight=1`],
    ['weight over 10000', `v=1 stable=${A} canary=${B} weight=10001 salt=s`],
    ['negative weight', `v=1 stable=${A} canary=${B} weight=-1 salt=s`],
    ['fractional weight', `v=1 stable=${A} canary=${B} weight=1.5 salt=s`],
    ['weight without canary', `v=1 stable=${A} canary=- weight=10 salt=s`],
    ['canary without salt', `v=1 stable=${A} canary=${B} weight=10 salt=-`],
    ['path in a build id', `v=1 stable=../../etc canary=- weight=0 salt=-`],
    ['uppercase build id', `v=1 stable=${A.toUpperCase()} canary=- weight=0 salt=-`],
    ['oversized', `v=1 stable=${A} canary=${B} weight=1 salt=${'s'.repeat(300)}`],
  ])('rejects %s', (_case, text) => {
    expect(parseRolloutRecord(text)).toBeNull();
  });

  it('refuses to format what it would not parse', () => {
    expect(() => formatRolloutRecord({ stable: A, canary: B, weight: 20000, salt: 's' })).toThrow(/not a valid rollout record/);
  });
});
