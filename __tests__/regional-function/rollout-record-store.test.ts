import { quoteTxt, unquoteTxt } from '../../regional-function/shared/rollout-record-store';

describe('TXT values as Route53 stores them', () => {
  it('quotes one string and escapes quotes and backslashes', () => {
    expect(quoteTxt('v=1 stable=x')).toBe('"v=1 stable=x"');
    expect(quoteTxt('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(unquoteTxt(quoteTxt('a"b\\c'))).toEqual(['a"b\\c']);
  });

  it('reads several strings, octal escapes and unquoted words', () => {
    expect(unquoteTxt('"v=1 stable=a" " canary=-"')).toEqual(['v=1 stable=a', ' canary=-']);
    expect(unquoteTxt('"caf\\303\\251"')).toEqual(['café']);
    expect(unquoteTxt('plain words')).toEqual(['plain', 'words']);
    expect(unquoteTxt('""')).toEqual(['']);
  });
});
