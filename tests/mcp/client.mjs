// The MCP endpoint driven by the official TypeScript SDK (@modelcontextprotocol/sdk, pinned by
// package-lock.json), as an agent framework would: initialize, list the tools, run code twice
// (state kept), get a plot as an image, upload a file and read it back three ways, see an error,
// reset the session, end it. Usage: node client.mjs URL TOKEN. Prints one JSON line with the
// measured round trip of `1+1`; exits 1 with the reason on the first check that fails.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [url, token] = process.argv.slice(2);

function check(condition, what, detail) {
  if (!condition) {
    console.error('FAILED: ' + what + (detail === undefined ? '' : ': ' + JSON.stringify(detail)));
    process.exit(1);
  }
}

const texts = (result) => result.content.filter((c) => c.type === 'text').map((c) => c.text).join('');

const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: 'Bearer ' + token } },
});
const client = new Client({ name: 'code-interpreter-ci', version: '1.0.0' });
await client.connect(transport);
check(client.getServerVersion()?.name === 'code-interpreter', 'serverInfo', client.getServerVersion());
check(typeof transport.sessionId === 'string' && transport.sessionId.length > 0, 'an Mcp-Session-Id');

const { tools } = await client.listTools();
const names = tools.map((t) => t.name).sort();
check(JSON.stringify(names) ===
      JSON.stringify(['download_file', 'execute_python', 'list_files', 'reset_session', 'upload_file']),
      'the tools', names);

const run = (code) => client.callTool({ name: 'execute_python', arguments: { code } });

let result = await run('x = 21\nprint("set")');
check(!result.isError && texts(result).includes('set'), 'first run', result);
result = await run('x * 2');
check(!result.isError && texts(result) === '42', 'state kept across calls', result);

result = await run('import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.show()');
const image = result.content.find((c) => c.type === 'image');
check(image && image.mimeType === 'image/png', 'a plot as image content', result);
check(Buffer.from(image.data, 'base64').subarray(0, 8).toString('hex') === '89504e470d0a1a0a',
      'the image is a PNG');

const csv = 'a,b\n1,2\n';
result = await client.callTool({ name: 'upload_file',
  arguments: { path: 'data/in.csv', content: Buffer.from(csv).toString('base64') } });
check(!result.isError && texts(result).includes('/sandbox/data/in.csv'), 'upload_file', result);
result = await run("open('data/in.csv').read()");
check(!result.isError && texts(result).includes("a,b\\n1,2\\n"), 'the kernel reads the upload', result);
result = await client.callTool({ name: 'download_file', arguments: { path: '/sandbox/data/in.csv' } });
check(!result.isError && texts(result) === csv, 'download_file', result);
result = await client.callTool({ name: 'list_files', arguments: { path: 'data' } });
check(!result.isError && texts(result).includes('/sandbox/data/in.csv'), 'list_files', result);

result = await run('1 / 0');
check(result.isError === true && texts(result).includes('ZeroDivisionError'), 'an error result', result);

const times = [];
for (let i = 0; i < 20; i++) {
  const start = performance.now();
  result = await run('1 + 1');
  times.push(performance.now() - start);
  check(texts(result) === '2', '1 + 1', result);
}
times.sort((a, b) => a - b);

result = await client.callTool({ name: 'reset_session', arguments: {} });
check(!result.isError, 'reset_session', result);
result = await run('x');
check(result.isError === true && texts(result).includes('NameError'), 'reset forgets x', result);

await transport.terminateSession();
await client.close();
console.log(JSON.stringify({ ok: true, round_trip_ms_p50: times[10], round_trip_ms_max: times[19] }));
