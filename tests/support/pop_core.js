// Runs calls through @alicloud/pop-core's RPCClient, as a Node application would.
// stdin: {"endpoint", "accessKeyId", "accessKeySecret", "apiVersion", "calls": [
//          {"action", "params", "opts"}, ...]}
// stdout: one JSON array, per call {"body": ...} or {"error": {"name", "code", "message"}}.
'use strict';

const RPCClient = require('@alicloud/pop-core').RPCClient;

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  const spec = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const client = new RPCClient({
    endpoint: spec.endpoint,
    accessKeyId: spec.accessKeyId,
    accessKeySecret: spec.accessKeySecret,
    apiVersion: spec.apiVersion,
  });
  const results = [];
  for (const call of spec.calls) {
    try {
      results.push({ body: await client.request(call.action, call.params, call.opts || {}) });
    } catch (err) {
      results.push({ error: { name: err.name, code: err.code, message: err.message } });
    }
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack || err));
  process.exit(1);
});
