// Lint rules that keep the codebase honest: no dropped promises, type-only imports marked as
// such, no import cycles, and workflow code that stays deterministic (Temporal's sandbox).
import tseslint from 'typescript-eslint';
import importPlugin from 'eslint-plugin-import';

const nonDeterministic = [
  'fs', 'fs/promises', 'path', 'os', 'child_process', 'crypto', 'http', 'https', 'net', 'dns',
  'dockerode', '@kubernetes/client-node', 'nats', 'express', '@temporalio/client',
  '@temporalio/worker', '@temporalio/activity', 'zod',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.hades/**', '.tools/**', 'eslint.config.mjs', 'bin/*.js'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { import: importPlugin },
    settings: { 'import/resolver': { typescript: { project: './tsconfig.json' } } },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', {
        // node:test's describe/it return promises the runner itself awaits.
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }],
      }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import/no-cycle': 'error',
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: it may import only the workflow
    // API and types (type-only imports are erased, so they are allowed).
    files: ['src/workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        paths: nonDeterministic.map((name) => ({ name, message: 'Workflow code may import only @temporalio/workflow and types.', allowTypeImports: true })),
        patterns: [
          { group: ['node:*'], message: 'Workflow code may not import Node built-ins.' },
          { group: ['../activities/*', '../api/*', '../bridge/*', '../queue/*', '../temporal/*', '../main/*', '../config'], message: 'Workflow code may import only @temporalio/workflow and types.', allowTypeImports: true },
        ],
      }],
    },
  },
);
