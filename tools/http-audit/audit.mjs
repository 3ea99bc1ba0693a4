// The GraphQL-over-HTTP audit (graphql-http's auditServer) against a running Stockroom.
// Usage: node audit.mjs http://127.0.0.1:8000/graphql BEARER_TOKEN
// Prints one JSON object: {"ok": N, "warn": N, "error": N, "total": N, "results": [...]}.
import { auditServer } from 'graphql-http';

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error('usage: node audit.mjs URL TOKEN');
  process.exit(2);
}

// Every /graphql request needs a bearer token (API.md section 2): add it to each request.
function fetchWithToken(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

const results = await auditServer({ url, fetchFn: fetchWithToken });
const summary = { ok: 0, warn: 0, error: 0, total: results.length, results: [] };
for (const result of results) {
  summary[result.status] += 1;
  summary.results.push({
    id: result.id,
    name: result.name,
    status: result.status,
    reason: result.status === 'ok' ? undefined : result.reason,
  });
}
console.log(JSON.stringify(summary));
