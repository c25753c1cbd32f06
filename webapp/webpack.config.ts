import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import TerserPlugin from 'terser-webpack-plugin';
import webpack from 'webpack';

/**
 * Stands in for the buildId while webpack runs: the id is the hash of what webpack emits, so it
 * cannot be known before. The build replaces it in every emitted file afterwards.
 */
export const BUILD_ID_PLACEHOLDER = '__edge_widget_build_id__';

export interface WebappBuildOptions {
  /** Folder holding src/ (a copy of webapp/ in tests). */
  readonly webappDir: string;
  /** Where webpack writes; the build moves the files to assets/<buildId>/ afterwards. */
  readonly outputDir: string;
  /** Project node_modules, so a copied webapp/ resolves the same packages. */
  readonly nodeModules: string;
  /**
   * Terser's results, shared by compiles made at once in one process (publish/build.ts's `SharedBuildWork`): the same
   * input and options give the same output, so a chunk two compiles both emit (React's, the router's: most of
   * terser's time) is minified once. Terser then runs in webpack's thread, where this map is. @default none: every
   * chunk minified, in a worker thread
   */
  readonly minified?: Map<string, Promise<unknown>>;
}

/** Terser as the plugin runs it, each result kept in `minified` under a hash of everything it is made from. */
function sharedTerserMinify(minified: Map<string, Promise<unknown>>): typeof TerserPlugin.terserMinify {
  const minify = (
    ...[input, sourceMap, minimizerOptions, extractComments]: Parameters<typeof TerserPlugin.terserMinify>
  ) => {
    const key = `terser\0${createHash('sha256')
      .update(JSON.stringify([input, sourceMap ?? null, minimizerOptions ?? null, extractComments ?? null]))
      .digest('hex')}`;
    let result = minified.get(key) as ReturnType<typeof TerserPlugin.terserMinify> | undefined;
    if (result === undefined) {
      result = TerserPlugin.terserMinify(input, sourceMap, minimizerOptions, extractComments);
      minified.set(key, result);
    }
    return result;
  };
  // Its version (part of the plugin's cache keys), its file filter, its worker support: terser's own.
  return Object.assign(minify, TerserPlugin.terserMinify);
}

export function webappConfig(options: WebappBuildOptions): webpack.Configuration {
  return {
    mode: 'production',
    context: options.webappDir,
    target: ['web', 'es2019'],
    entry: { index: './src/index.ts' },
    devtool: false,
    output: {
      path: options.outputDir,
      filename: 'index.js',
      chunkFilename: '[name].[contenthash:10].js',
      // Every build lives under its own immutable path; index.js anchors it to the distribution's origin.
      publicPath: `/assets/${BUILD_ID_PLACEHOLDER}/`,
      // Host pages may run their own webpack bundles: keep our chunk-loading global apart from theirs.
      uniqueName: 'edgeWidget',
      // Chunks load with CORS so their errors reach the error listener with file names, not "Script error.".
      crossOriginLoading: 'anonymous',
      hashFunction: 'sha256',
      clean: true,
    },
    resolve: {
      extensions: ['.ts', '.tsx', '.js'],
      modules: [options.nodeModules, 'node_modules'],
      // react-router's package exports point every bundler at its development build.
      alias: { 'react-router$': path.join(options.nodeModules, 'react-router/dist/production/index.mjs') },
    },
    resolveLoader: { modules: [options.nodeModules] },
    module: {
      rules: [
        {
          test: /\.tsx?$/,
          loader: 'esbuild-loader',
          options: { target: 'es2019', jsx: 'automatic' },
        },
      ],
    },
    plugins: [
      new webpack.DefinePlugin({
        __BUILD_ID__: JSON.stringify(BUILD_ID_PLACEHOLDER),
      }),
    ],
    optimization: {
      moduleIds: 'deterministic',
      chunkIds: 'deterministic',
      runtimeChunk: false,
      splitChunks: {
        chunks: 'async',
        minSize: 0,
        cacheGroups: {
          // One chunk per library, shared by every page: no module is bundled twice.
          react: {
            test: /[\\/]node_modules[\\/](react|react-dom|scheduler)[\\/]/,
            name: 'react',
            priority: 30,
            enforce: true,
          },
          router: {
            test: /[\\/]node_modules[\\/](react-router|cookie|set-cookie-parser)[\\/]/,
            name: 'router',
            priority: 20,
            enforce: true,
          },
          default: false,
          defaultVendors: false,
        },
      },
      // One terser worker per core (its default leaves one core to webpack, which mostly waits on them).
      // RegExp is pure: contracts the entry bundles (build-id.ts, through error-report.ts) build
      // patterns at load that the widget never uses, and terser drops an unused one only so.
      minimizer: [
        new TerserPlugin({
          ...(options.minified
            ? { parallel: false, minify: sharedTerserMinify(options.minified) }
            : { parallel: availableParallelism() }),
          extractComments: false,
          terserOptions: { format: { comments: false }, compress: { passes: 2, pure_funcs: ['RegExp'] } },
        }),
      ],
    },
    performance: { hints: false },
    infrastructureLogging: { level: 'error' },
    stats: 'errors-only',
  };
}

// For the webpack CLI, as a function: made when the CLI asks, not when the build or a test imports this module (the
// plugins validate their options as they are made, ~0.4 s CPU: thirty-odd test files import the build).
export default (): webpack.Configuration =>
  webappConfig({
    webappDir: __dirname,
    outputDir: path.join(__dirname, '..', 'build', '.webpack'),
    nodeModules: path.join(__dirname, '..', 'node_modules'),
  });
