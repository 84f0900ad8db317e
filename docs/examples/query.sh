#!/bin/sh
# Your machines and their series, with an API key (read scope) and curl.
#   SF_API_KEY=sfk_... sh docs/examples/query.sh
set -eu
curl --silent --show-error --fail-with-body \
  --header "Authorization: Bearer ${SF_API_KEY}" \
  --header "Content-Type: application/json" \
  --data '{"query": "{ machines { id name series { id name unit } } }"}' \
  "${SF_URL:-http://localhost:8000}/graphql"
