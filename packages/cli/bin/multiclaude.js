#!/usr/bin/env node
// The `multiclaude` executable: registers tsx so Node runs the TypeScript sources as they are (no build step), from any directory.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
