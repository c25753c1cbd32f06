import { unzipSync } from 'fflate';
import { createZip, readZip } from '../../edge-code/zip';

describe('deterministic zip', () => {
  const entries = [
    { name: 'index.js', data: Buffer.from('exports.handler = async () => 1;\n') },
    { name: 'data/big.txt', data: Buffer.alloc(100_000, 'abc') },
  ];

  it('round-trips names, bytes and a 0644 regular-file mode', () => {
    const read = readZip(createZip(entries));
    expect(read.map((e) => e.name)).toEqual(['index.js', 'data/big.txt']);
    expect(read[1]!.data.equals(entries[1]!.data)).toBe(true);
    expect(read.every((e) => e.mode === 0o100644)).toBe(true);
  });

  it('is read back by another reader too (what unpacks it is not this module)', () => {
    const read = unzipSync(createZip(entries));
    expect(Object.keys(read)).toEqual(['index.js', 'data/big.txt']);
    expect(Buffer.from(read['data/big.txt']!).equals(entries[1]!.data)).toBe(true);
  });

  it('writes the same bytes every time, with the 1980-01-01 timestamp and no extra fields', () => {
    const a = createZip(entries);
    expect(createZip(entries).equals(a)).toBe(true);
    // Local header of the first entry: time 0, date 1980-01-01 (0x0021), extra length 0.
    expect(a.readUInt16LE(10)).toBe(0);
    expect(a.readUInt16LE(12)).toBe(0x21);
    expect(a.readUInt16LE(28)).toBe(0);
  });

  it('rejects a corrupted entry instead of returning wrong bytes', () => {
    const zip = createZip(entries);
    const corrupted = Buffer.from(zip);
    corrupted[40]! ^= 0xff; // inside the first entry's compressed data
    expect(() => readZip(corrupted)).toThrow(/CRC mismatch|invalid|incorrect/i);
  });
});
