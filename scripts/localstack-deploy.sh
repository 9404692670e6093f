#!/usr/bin/env bash
# Deploys the CDK app (infra/app.ts: the word-count pipeline) to a running LocalStack with cdklocal, then
# prints the sparkless commands that talk to it. Start LocalStack first: docker compose up -d --wait
#
#   scripts/localstack-deploy.sh                 # bootstrap + deploy (throwaway: removalPolicy=destroy)
#   scripts/localstack-deploy.sh --hotswap       # extra arguments go to `cdklocal deploy`
#
# Not run in CI (there is no Docker there); see docs/localstack.md.
set -euo pipefail
cd "$(dirname "$0")/.."

export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://localhost:4566}"
# cdklocal tells S3 requests apart by an ".s3." in this URL (aws-cdk-local README); the name resolves to 127.0.0.1.
export AWS_ENDPOINT_URL_S3="${AWS_ENDPOINT_URL_S3:-http://s3.localhost.localstack.cloud:4566}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-$AWS_REGION}"
# cdklocal clears AWS_* variables before it runs the CDK CLI (so a profile cannot send the deploy to AWS);
# keep the region.
export AWS_ENVAR_ALLOWLIST="${AWS_ENVAR_ALLOWLIST:-AWS_REGION,AWS_DEFAULT_REGION}"
# cdklocal patches the CDK CLI it finds with require("aws-cdk"): make that this project's pinned aws-cdk
# (2.1148.x; the registry's 3.0.0 cannot read current cloud assemblies), not whatever npx has cached.
export NODE_PATH="$PWD/node_modules${NODE_PATH:+:$NODE_PATH}"

if ! curl -fsS "$AWS_ENDPOINT_URL/_localstack/health" >/dev/null 2>&1; then
  echo "localstack-deploy: LocalStack does not answer at $AWS_ENDPOINT_URL; start it with: docker compose up -d --wait" >&2
  exit 1
fi

cdklocal() { npx --yes aws-cdk-local@3.0.4 "$@"; }

outputs=cdk.out/localstack-outputs.json
cdklocal bootstrap
cdklocal deploy --require-approval never -c removalPolicy=destroy --outputs-file "$outputs" "$@"

node --input-type=module -e '
  import { readFileSync } from "node:fs";
  const [stack, o] = Object.entries(JSON.parse(readFileSync(process.argv[1], "utf8")))[0] ?? [];
  if (!o) process.exit(0);
  const e = process.env.AWS_ENDPOINT_URL;
  const target = `--pipeline word-count --stream ${o.StreamName} --table ${o.TableName} --bucket ${o.BucketName} --endpoint ${e}`;
  console.log(`\nDeployed ${stack} to LocalStack. Try:\n`);
  console.log(`  npx sparkless push ${o.StreamName} some.txt --endpoint ${e}`);
  console.log(`  npx sparkless status ${target}`);
  console.log(`  npx sparkless tail ${target}`);
  console.log(`\nprint() output is in the log group ${o.ShardLogGroup} (awslocal logs tail ${o.ShardLogGroup} --follow).`);
' "$outputs"
