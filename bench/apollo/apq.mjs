// Apollo Client's automatic persisted queries against a running Stockroom, hashed queries
// over GET (useGETForHashedQueries). Prints what it saw as JSON:
//   node bench/apollo/apq.mjs BASE_URL BEARER_TOKEN
// (run `npm ci` in bench/apollo first; tests/test_catalog_read_caching_servers.py runs it)
import { createHash } from "node:crypto";
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client/core/index.js";
import { createPersistedQueryLink } from "@apollo/client/link/persisted-queries/index.js";

const [base, token] = process.argv.slice(2);
const seen = [];

async function recordingFetch(url, options) {
  const response = await fetch(url, options);
  const body = options.body ? JSON.parse(options.body) : null;
  const params = new URL(url).searchParams;
  seen.push({
    method: options.method,
    status: response.status,
    sentQuery: Boolean(body?.query ?? params.get("query")),
    etag: response.headers.get("etag"),
    cacheControl: response.headers.get("cache-control"),
  });
  return response;
}

function client() {
  const sha256 = (text) => createHash("sha256").update(text).digest("hex");
  const http = new HttpLink({
    uri: `${base}/graphql`,
    headers: { authorization: `Bearer ${token}` },
    fetch: recordingFetch,
  });
  return new ApolloClient({
    link: createPersistedQueryLink({ sha256, useGETForHashedQueries: true }).concat(http),
    cache: new InMemoryCache(),
  });
}

const LISTING = gql`
  query ApolloListing($first: Int) {
    products(first: $first) {
      totalCount
      edges { node { sku name price { withTax { formatted } } stockStatus } }
    }
  }
`;

const results = [];
for (const app of [client(), client()]) {  // the second app finds the query registered
  const { data } = await app.query({ query: LISTING, variables: { first: 5 }, fetchPolicy: "no-cache" });
  results.push(data);
}
console.log(JSON.stringify({ results, requests: seen }));
