#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader, so `vpt` works from an installed checkout without a build step.
import { register } from 'tsx/esm/api';
register();
await import('./main.ts');
