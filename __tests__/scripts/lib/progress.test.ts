import { Writable } from 'node:stream';
import { formatBytes, isInteractive, ProgressBoard } from '../../../scripts/lib/progress';

function capture(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write: (chunk, _encoding, done) => {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

describe('progress', () => {
  it('prints plain lines at each quarter outside a terminal', () => {
    const out = capture();
    const board = new ProgressBoard({ lanes: ['us-east-1', 'eu-west-1'], stream: out.stream, interactive: false });
    for (let done = 1; done <= 8; done += 1) board.update('us-east-1', { done, total: 8, bytes: done * 1024 });
    board.finish();
    const lines = out.text().trim().split('\n');
    expect(lines).toEqual([
      'us-east-1   25%  2/8 objects  2.0 KB',
      'us-east-1   50%  4/8 objects  4.0 KB',
      'us-east-1   75%  6/8 objects  6.0 KB',
      'us-east-1  100%  8/8 objects  8.0 KB',
    ]);
    expect(out.text()).not.toContain('\x1b[');
  });

  it('redraws one bar per lane in place on a terminal', () => {
    const out = capture();
    const board = new ProgressBoard({ lanes: ['us-east-1', 'eu-west-1'], stream: out.stream, interactive: true });
    board.update('us-east-1', { done: 4, total: 4, bytes: 10 });
    board.log('a note');
    board.finish();
    expect(out.text()).toContain('\x1b[2A\x1b[0J');
    expect(out.text()).toContain('a note\n');
    expect(out.text()).toMatch(/us-east-1 {2}█{24} {2}4\/4/);
    expect(out.text()).toMatch(/eu-west-1 {2}░{24} {2}0\/0/);
  });

  it('is interactive only on a TTY outside CI', () => {
    expect(isInteractive({ isTTY: true }, {})).toBe(true);
    expect(isInteractive({ isTTY: true }, { CI: 'true' })).toBe(false);
    expect(isInteractive({ isTTY: false }, {})).toBe(false);
    expect(formatBytes(3 * 1024 * 1024)).toBe('3.0 MB');
  });
});
