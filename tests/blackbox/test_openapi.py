"""The API as a document: GET /api/v1/openapi.json (docs/openapi.yaml) names
exactly the routes patd's router serves, no more and no fewer, so the two
cannot drift apart; every operation documents its answers."""
import os
import re

from harness import PatdTestCase

ROUTER = os.path.join(os.path.dirname(__file__), '..', '..', 'src', 'http', 'router.c')
METHODS = ('get', 'post', 'put', 'patch', 'delete')


def router_routes():
    with open(ROUTER) as f:
        text = f.read()
    return {(m, p) for m, p in re.findall(r'\{"([A-Z]+)", "(/[^"]*)", pat_h_', text)}


class OpenApi(PatdTestCase):
    def test_document_names_every_route_and_only_those(self):
        r = self.req('GET', '/api/v1/openapi.json')
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header('Content-Type').startswith('application/json'))
        doc = r.json
        self.assertEqual(doc['openapi'], '3.1.0')
        documented = {(m.upper(), path) for path, item in doc['paths'].items()
                      for m in item if m in METHODS}
        served = router_routes()
        self.assertGreater(len(served), 30)
        self.assertEqual(served - documented, set(), 'routes missing from docs/openapi.yaml')
        self.assertEqual(documented - served, set(), 'documented routes patd does not serve')
        for path, item in doc['paths'].items():
            for m in METHODS:
                if m in item:
                    self.assertTrue(item[m].get('responses'), (m, path))
                    self.assertTrue(item[m].get('operationId'), (m, path))
