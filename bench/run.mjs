// `npm run bench` (see bench/README.md): loads the TypeScript benchmarks with tsx and runs them.
import { tsImport } from 'tsx/esm/api';

await tsImport('./main.ts', import.meta.url);
