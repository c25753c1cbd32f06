import {
  IMMUTABLE_CACHE_CONTROL,
  metadataHeaders,
  objectMetadata,
  REVALIDATE_CACHE_CONTROL,
  variantOf,
} from '../../contracts/object-metadata';

const ID = '0123456789abcdef';

describe('object metadata rule', () => {
  it('gives build assets their content type and a year of immutable caching', () => {
    expect(objectMetadata(`assets/${ID}/index.js`)).toEqual({
      contentType: 'application/javascript; charset=utf-8',
      cacheControl: IMMUTABLE_CACHE_CONTROL,
    });
    expect(objectMetadata(`assets/${ID}/logo.png`)).toEqual({
      contentType: 'image/png',
      cacheControl: IMMUTABLE_CACHE_CONTROL,
    });
    expect(IMMUTABLE_CACHE_CONTROL).toBe('public, max-age=31536000, immutable');
  });

  it('serves .br and .gz variants as the original type with their Content-Encoding', () => {
    expect(objectMetadata(`assets/${ID}/main.css.br`)).toEqual({
      contentType: 'text/css; charset=utf-8',
      contentEncoding: 'br',
      cacheControl: IMMUTABLE_CACHE_CONTROL,
    });
    expect(objectMetadata(`assets/${ID}/chunk.js.gz`)).toEqual({
      contentType: 'application/javascript; charset=utf-8',
      contentEncoding: 'gzip',
      cacheControl: IMMUTABLE_CACHE_CONTROL,
    });
  });

  it('does not take a compressed file of a kind the build never compresses for a variant', () => {
    expect(variantOf(`assets/${ID}/font.woff2.gz`)).toBeNull();
    expect(variantOf(`assets/${ID}/.br`)).toBeNull();
    expect(objectMetadata(`assets/${ID}/font.woff2.gz`)).toEqual({
      contentType: 'application/octet-stream',
      cacheControl: IMMUTABLE_CACHE_CONTROL,
    });
  });

  it('never marks anything outside assets/<buildId>/ immutable', () => {
    expect(objectMetadata(`builds/${ID}.json`)).toEqual({
      contentType: 'application/json; charset=utf-8',
      cacheControl: REVALIDATE_CACHE_CONTROL,
    });
    expect(objectMetadata('assets/index.js').cacheControl).toBe(REVALIDATE_CACHE_CONTROL);
    expect(objectMetadata('assets/NOTANID12345678/a.js').cacheControl).toBe(REVALIDATE_CACHE_CONTROL);
    expect(objectMetadata(`assets/${ID}/`).cacheControl).toBe(REVALIDATE_CACHE_CONTROL);
  });

  it('turns into response headers', () => {
    expect(metadataHeaders(objectMetadata(`assets/${ID}/a.js.br`))).toEqual({
      'content-type': 'application/javascript; charset=utf-8',
      'content-encoding': 'br',
      'cache-control': IMMUTABLE_CACHE_CONTROL,
    });
    expect(metadataHeaders(objectMetadata(`assets/${ID}/a.js`))).not.toHaveProperty('content-encoding');
  });
});
