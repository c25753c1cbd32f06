import * as path from 'node:path';
import { App } from 'cdktf';
import { loadConfig } from './config';
import { readManifest } from './contracts/build-manifest';
import { createStacks } from './stacks/app';

try {
  const buildDir = path.resolve(process.env.BUILD_DIR ?? path.join(__dirname, 'build'));
  const props = { config: loadConfig(), manifest: readManifest(buildDir), buildDir };
  const app = new App();
  createStacks(app, props);
  app.synth();
} catch (error) {
  // A missing build or a bad config is a message for a person, not a stack trace.
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
