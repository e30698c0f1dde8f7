import type { SearchAttributeKey } from '@temporalio/common/lib/search-attributes';

// Search attributes of a job's workflow, for filtering in the Temporal Web UI
// (e.g. `HadesStatus = "Failed"`). The dev server registers them at start (scripts/services.ts);
// a production cluster registers them once with `temporal operator search-attribute create`.

export const jobSearchAttributes = {
  name: { name: 'HadesJobName', type: 'KEYWORD' },
  status: { name: 'HadesStatus', type: 'KEYWORD' },
  priority: { name: 'HadesPriority', type: 'INT' },
} as const satisfies Record<string, SearchAttributeKey<'KEYWORD' | 'INT'>>;
