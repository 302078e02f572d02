// What a Node.js storefront calls through the official OpenSearch client, pointed at the API:
// node check.mjs <url> <client key> <alias>; prints what it got as one JSON line.
import { Client } from "@opensearch-project/opensearch";

const [url, key, alias] = process.argv.slice(2);
const client = new Client({ node: url, headers: { "X-API-Key": key } });
const shirts = { query: { match: { title: "shirt" } } };
const out = {};
out.ping = (await client.ping()).statusCode;
out.version = (await client.info()).body.version.number;
out.exists = (await client.indices.exists({ index: alias })).body;
out.count = (await client.count({ index: alias, body: shirts })).body.count;
const answers = await client.msearch({ body: [{}, { ...shirts, size: 2 }, {}, { size: 0 }] });
out.msearch = answers.body.responses.map((r) => r.hits.total.value);
const first = (await client.search({ index: alias, body: { ...shirts, size: 1 } })).body.hits.hits[0];
out.get = (await client.get({ index: alias, id: first._id })).body._source.title === first._source.title;
const mapping = (await client.indices.getMapping({ index: alias })).body[alias].mappings.properties;
out.mapping = Object.keys(mapping);
const blended = await client.search({
  index: alias,
  body: {
    size: 3,
    query: { bool: { filter: [{ term: { colour: "Black" } }] } },
    aggs: { types: { terms: { field: "article_type" } } },
    ext: { hybrid: { q: "backpack" } },
  },
});
out.blended = {
  total: blended.body.hits.total.value,
  ids: blended.body.hits.hits.map((h) => h._id),
  buckets: blended.body.aggregations.types.buckets.reduce((sum, b) => sum + b.doc_count, 0),
};
try {
  await client.search({ index: alias, body: { query: { hybrid: { queries: [shirts.query] } } } });
  out.refused = null;
} catch (error) {
  out.refused = { name: error.name, status: error.statusCode, type: error.body.error.type, reason: error.body.error.reason };
}
console.log(JSON.stringify(out));
