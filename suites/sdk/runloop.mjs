// Drives the Runloop mock with the official TypeScript SDK, @runloop/api-client, at the
// version installed in the folder SP_SDK_DIR names (suites/sdk/versions/runloop@<version>:
// 0.44.0, the twin of OpenHands' Python pin, and the newest). The client is configured only
// from RUNLOOP_API_KEY and RUNLOOP_BASE_URL, as a user's would be; from 1.25 on it also gets
// `http2: false`, since the SDK speaks HTTP/2 by default and the mock is HTTP/1.1. Every step
// asserts what the real service returns (spec/runloop-modal.md Part R); failed steps are
// reported and the run goes on (see steps.mjs); the devboxes made are shut down anyway.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { loadSdk } from './sdk.mjs';
import { stepRunner } from './steps.mjs';

// The package exports neither its package.json nor `Runloop` from its 1.x main entry (that is
// the higher-level RunloopSDK): the client comes from `index`, and the version from the
// folder's exact pin.
const { Runloop, AuthenticationError, NotFoundError, toFile } =
    await loadSdk('@runloop/api-client/index');
const pin = JSON.parse(readFileSync(join(process.env.SP_SDK_DIR, 'package.json'), 'utf8'));
const version = pin.dependencies['@runloop/api-client'];
const [major, minor] = version.split('.').map(Number);
const newest = major >= 1; // create_tunnel is gone (1.11.2); tunnels come with the devbox
const h2Default = major > 1 || (major === 1 && minor >= 25);

const { step, run } = stepRunner(`runloop@${version}`);
const options = h2Default ? { http2: false } : {};
const client = new Runloop(options);
const made = [];

// RunloopRuntime's entrypoint (spec R2): the mock claims it as the action server.
const ENTRYPOINT = "sudo bash -c 'export MAMBA_ROOT_PREFIX=/openhands/micromamba && cd " +
    '/openhands/code && /openhands/micromamba/bin/micromamba run -n openhands poetry config ' +
    'virtualenvs.path /openhands/poetry && /openhands/micromamba/bin/micromamba run -n ' +
    'openhands poetry run python -u -m openhands.runtime.action_execution_server 4444 ' +
    "--working-dir /workspace --plugins agent_skills jupyter --username openhands --user-id 1000'";

// GET url with Node's own HTTP client, dialling 127.0.0.1 whatever the host name says:
// Node does not resolve *.localhost, the host the mock's tunnel URLs use.
function get(url, headers = {}) {
    const u = new URL(url);
    return new Promise((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port: u.port, path: u.pathname,
                               headers: { ...headers, Host: u.host } }, (res) => {
            let body = '';
            res.on('data', (c) => { body += c; });
            res.on('end', () => resolve({ status: res.statusCode, body }));
        });
        req.on('error', reject);
    });
}

async function untilAlive(url, headers) {
    const end = Date.now() + 15000;
    for (;;) {
        const r = await get(`${url}/alive`, headers);
        if (r.status === 200) return r;
        if (Date.now() > end) throw new Error(`${url}/alive still answers ${r.status}`);
        await new Promise((res) => setTimeout(res, 50));
    }
}

let box; // the OpenHands-style devbox
let other; // a second one, for the list

async function lifecycle() {
    await step('a wrong API key is AuthenticationError (401 JSON body)', async () => {
        const bad = new Runloop({ ...options, bearerToken: 'not-the-key', maxRetries: 0 });
        await assert.rejects(bad.devboxes.list(), AuthenticationError);
    });
    await step('an unknown devbox id is NotFoundError (404 JSON body)', async () => {
        await assert.rejects(client.devboxes.retrieve('dbx_doesnotexist'), NotFoundError);
    });
    await step('create as OpenHands does: prebuilt, entrypoint, launch_parameters, name', async () => {
        box = await client.devboxes.create({
            name: `sp-sdk-${process.pid}`,
            prebuilt: 'openhands',
            entrypoint: ENTRYPOINT,
            environment_variables: { SP_GREETING: 'hello from env' },
            launch_parameters: { available_ports: [4444, 4445], resource_size_request: 'LARGE',
                                 launch_commands: ['mkdir -p /workspace'] },
            metadata: { 'container-name': `openhands-runtime-sp-sdk-${process.pid}` },
            ...(newest ? { tunnel: { auth_mode: 'open' } } : {}),
        });
        made.push(box.id);
        assert.match(box.id, /^dbx_[A-Za-z0-9]+$/);
        assert.ok(['provisioning', 'initializing', 'running'].includes(box.status), box.status);
        assert.equal(box.name, `sp-sdk-${process.pid}`);
    }, { fatal: true });
    await step('awaitRunning (wait_for_status) ends with status running', async () => {
        const view = await client.devboxes.awaitRunning(box.id);
        assert.equal(view.status, 'running');
    }, { fatal: true });
}

async function tunnel() {
    if (!newest) {
        await step('createTunnel {port: 4444}: a stable URL that reaches the action server', async () => {
            const t1 = await client.devboxes.createTunnel(box.id, { port: 4444 });
            const t2 = await client.devboxes.createTunnel(box.id, { port: 4444 });
            assert.equal(t1.devbox_id, box.id);
            assert.equal(t1.url, t2.url);
            await untilAlive(t1.url);
        });
        return;
    }
    await step('the devbox carries its tunnel; {port}-{tunnel_key} reaches the server', async () => {
        const view = await client.devboxes.retrieve(box.id);
        assert.equal(view.tunnel.auth_mode, 'open');
        const again = await client.devboxes.enableTunnel(box.id, { auth_mode: 'open' });
        assert.equal(again.tunnel_key, view.tunnel.tunnel_key);
        await untilAlive(`http://4444-${view.tunnel.tunnel_key}.${process.env.RUNLOOP_TUNNEL_DOMAIN}`);
    });
}

async function commands() {
    await step('executeSync: exit status, stdout and stderr apart, the devbox env', async () => {
        const r = await client.devboxes.executeSync(box.id, {
            command: 'echo "$SP_GREETING"; echo oops >&2; exit 3' });
        assert.equal(r.exit_status, 3);
        assert.equal(r.stdout, 'hello from env\n');
        assert.equal(r.stderr, 'oops\n');
    });
    await step('executeAsync, then executions.awaitCompleted', async () => {
        const ex = await client.devboxes.executeAsync(box.id, { command: 'sleep 0.2; echo later' });
        assert.ok(ex.execution_id);
        assert.ok(['queued', 'running', 'completed'].includes(ex.status), ex.status);
        const done = await client.devboxes.executions.awaitCompleted(box.id, ex.execution_id);
        assert.equal(done.status, 'completed');
        assert.equal(done.exit_status, 0);
        assert.equal(done.stdout, 'later\n');
    });
    await step('a long execution is running until executions.kill', async () => {
        const ex = await client.devboxes.executeAsync(box.id, { command: 'sleep 30' });
        const now = await client.devboxes.executions.retrieve(box.id, ex.execution_id);
        assert.equal(now.status, 'running');
        const killed = await client.devboxes.executions.kill(box.id, ex.execution_id);
        assert.equal(killed.status, 'completed');
        assert.notEqual(killed.exit_status, 0);
    });
}

async function files() {
    await step('writeFileContents, then readFileContents returns the text', async () => {
        await client.devboxes.writeFileContents(box.id, { file_path: 'notes/a.txt',
                                                          contents: 'héllo\nworld\n' });
        const text = await client.devboxes.readFileContents(box.id, { file_path: 'notes/a.txt' });
        assert.equal(text, 'héllo\nworld\n');
        const cat = await client.devboxes.executeSync(box.id, { command: 'cat notes/a.txt' });
        assert.equal(cat.stdout, 'héllo\nworld\n');
    });
    await step('uploadFile (multipart path + file), then downloadFile gives the bytes', async () => {
        const bytes = Buffer.from([0, 1, 2, 255, 254, 10]);
        await client.devboxes.uploadFile(box.id, { path: 'bin/blob',
                                                   file: await toFile(bytes, 'blob') });
        const rsp = await client.devboxes.downloadFile(box.id, { path: 'bin/blob' });
        const got = Buffer.from(await rsp.arrayBuffer());
        assert.deepEqual([...got], [...bytes]);
    });
    await step('reading a missing file is NotFoundError', async () => {
        await assert.rejects(client.devboxes.readFileContents(box.id, { file_path: 'nope.txt' }),
                             NotFoundError);
    });
}

async function listing() {
    await step('list pages through every devbox (limit 1, has_more / starting_after)', async () => {
        other = await client.devboxes.create({ name: `sp-sdk-other-${process.pid}` });
        made.push(other.id);
        const seen = [];
        for await (const d of client.devboxes.list({ limit: 1 })) seen.push(d.id);
        assert.ok(seen.includes(box.id), `list misses ${box.id}`);
        assert.ok(seen.includes(other.id), `list misses ${other.id}`);
        assert.equal(new Set(seen).size, seen.length);
        const page = await client.devboxes.list({ limit: 1 });
        assert.equal(page.has_more, true);
        assert.equal(typeof page.total_count, 'number');
    });
    await step('list status=running finds the OpenHands devbox (attach by name)', async () => {
        await client.devboxes.awaitRunning(other.id);
        const page = await client.devboxes.list({ status: 'running' });
        assert.ok(page.devboxes.some((d) => d.name === `sp-sdk-${process.pid}`));
    });
}

async function shutdown() {
    await step('shutdown answers status shutdown; the devbox stays retrievable', async () => {
        const view = await client.devboxes.shutdown(box.id);
        assert.equal(view.status, 'shutdown');
        const again = await client.devboxes.retrieve(box.id);
        assert.equal(again.status, 'shutdown');
        const page = await client.devboxes.list({ status: 'running' });
        assert.ok(!page.devboxes.some((d) => d.id === box.id));
    });
}

await run([lifecycle, tunnel, commands, files, listing, shutdown], async () => {
    for (const id of made) {
        try {
            await client.devboxes.shutdown(id);
        } catch {
            // already shut down, or the mock is gone: nothing left to do
        }
    }
});
