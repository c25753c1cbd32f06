/** Stamped by webpack's DefinePlugin at build time (see webapp/webpack.config.ts). */
declare const __BUILD_ID__: string;
/** Where beacons go: a path on the distribution or an absolute URL (config `metrics.endpoint`). */
declare const __METRICS_ENDPOINT__: string;
declare let __webpack_public_path__: string;
