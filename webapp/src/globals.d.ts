/** Stamped by webpack's DefinePlugin at build time (see webapp/webpack.config.ts). */
declare const __BUILD_ID__: string;
declare let __webpack_public_path__: string;
