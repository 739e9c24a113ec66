// Drives the Modal mock with Modal's official JS SDK (npm `modal`) at the version installed in
// the folder SP_SDK_DIR names (suites/sdk/versions/modal@<version>: 0.9.0 and 0.11.1; npm's
// `latest` tag of `modal` is an unrelated package). The client is configured only from
// MODAL_TOKEN_ID, MODAL_TOKEN_SECRET and MODAL_SERVER_URL, as a user's would be; the SDK then
// speaks gRPC over h2c to the mock (spec/runloop-modal.md M1). 0.11.1 runs the lifecycle
// twice: with its default V2 sandboxes and with MODAL_SANDBOX_V2=0 (V1, as 0.9.0 does). Each
// run: bad token, app lookup and creation, image, sandbox create with an open port and env,
// exec (stdout, stderr, exit code, env), the tunnel to the action server (its https URL, and
// /alive through its plain endpoint: the mock serves tunnels without TLS), tags and list,
// fromId, terminate, wait. Failed steps are reported and the run goes on (steps.mjs).
import assert from 'node:assert/strict';
import http from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { stepRunner } from './steps.mjs';

const dir = process.env.SP_SDK_DIR;
if (!dir) {
    console.error('modal.mjs: SP_SDK_DIR must name a suites/sdk/versions/modal@<version> folder');
    process.exit(2);
}
const require = createRequire(join(dir, 'package.json'));
const version = require(join(dir, 'package.json')).devDependencies.modal;
const sdk = await import(pathToFileURL(require.resolve('modal')).href);
const { ModalClient, NotFoundError } = sdk;
const [major, minor] = version.split('.').map(Number);
const hasV2 = major > 0 || minor >= 11; // 0.11 makes V2 sandboxes the default (M2)

const { step, run } = stepRunner(`modal@${version}`);
const clients = [];
const made = [];

// ModalRuntime's server command line (utils/command.py): the mock claims it as the action
// server behind the tunnel of port 3000.
const SERVER = ['/openhands/micromamba/bin/micromamba', 'run', '-n', 'openhands', 'poetry', 'run',
    'python', '-u', '-m', 'openhands.runtime.action_execution_server', '3000', '--working-dir',
    '/workspace', '--plugins', 'agent_skills', 'jupyter', '--username', 'openhands',
    '--user-id', '1000'];
const V1_ID = /^sb-[0-9A-Za-z]{22}$/; // isV1SandboxId (M8)

// GET url with Node's HTTP client, dialling 127.0.0.1 whatever the host name says (Node does
// not resolve *.localhost, the host the mock's tunnels use).
function get(host, port, path) {
    return new Promise((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port, path, headers: { Host: `${host}:${port}` } },
            (res) => {
                let body = '';
                res.on('data', (c) => { body += c; });
                res.on('end', () => resolve({ status: res.statusCode, body }));
            });
        req.on('error', reject);
    });
}

async function untilAlive(host, port) {
    const end = Date.now() + 15000;
    for (;;) {
        const r = await get(host, port, '/alive');
        if (r.status === 200) return r;
        if (Date.now() > end) throw new Error(`/alive still ${r.status}`);
        await new Promise((res) => setTimeout(res, 100));
    }
}

function client(params) {
    const c = new ModalClient(params);
    clients.push(c);
    return c;
}

async function badToken() {
    await step('a wrong token secret is refused (AuthTokenGet / first call fails)', async () => {
        const bad = client({ tokenId: process.env.MODAL_TOKEN_ID, tokenSecret: 'as-wrong-secret' });
        await assert.rejects(bad.apps.fromName('sp-sdk-bad', { createIfMissing: true }),
            (e) => /UNAUTHENTICATED|invalid|token/i.test(String(e && (e.message || e))));
    });
}

// One lifecycle with the generation the environment selects.
function lifecycle(gen) {
    return async () => {
        process.env.MODAL_SANDBOX_V2 = gen === 'v2' ? '1' : '0';
        const modal = client();
        let app, sb;
        await step(`${gen}: apps.fromName creates the app once, finds it again`, async () => {
            app = await modal.apps.fromName('sp-sdk', { createIfMissing: true });
            assert.match(app.appId, /^ap-/);
            const again = await modal.apps.fromName('sp-sdk');
            assert.equal(again.appId, app.appId);
        }, { fatal: true });
        await step(`${gen}: an unknown app is NotFoundError`, async () => {
            await assert.rejects(modal.apps.fromName(`sp-missing-${process.pid}`), NotFoundError);
        });
        await step(`${gen}: sandboxes.create with an image, an open port and env`, async () => {
            const image = modal.images.fromRegistry('python:3.12-slim');
            sb = await modal.sandboxes.create(app, image, {
                command: SERVER, encryptedPorts: [3000], env: { SBENV: 'sandbox' },
                timeoutMs: 600000,
            });
            made.push(sb);
            if (gen === 'v1') assert.match(sb.sandboxId, V1_ID);
            else assert.ok(sb.sandboxId.startsWith('sb-') && !V1_ID.test(sb.sandboxId));
        }, { fatal: true });
        await step(`${gen}: exec returns stdout, stderr, the exit code and both env layers`, async () => {
            const p = await sb.exec(['sh', '-c', 'echo out; echo err >&2; echo "$SBENV $EXECENV"; exit 3'],
                { env: { EXECENV: 'exec' } });
            const [out, err] = await Promise.all([p.stdout.readText(), p.stderr.readText()]);
            assert.equal(out, 'out\nsandbox exec\n');
            assert.equal(err, 'err\n');
            assert.equal(await p.wait(), 3);
        });
        await step(`${gen}: tunnels() has port 3000 with an https URL; /alive answers`, async () => {
            const t = await sb.tunnels();
            assert.ok(t[3000], `tunnels: ${JSON.stringify(Object.keys(t))}`);
            assert.match(t[3000].url, /^https:\/\//);
            const [host, port] = t[3000].tcpSocket;
            await untilAlive(host, port);
        });
        await step(`${gen}: setTags, then list by app and tags finds exactly this sandbox`, async () => {
            await sb.setTags({ owner: `sp-${gen}-${process.pid}` });
            const found = [];
            for await (const s of modal.sandboxes.list({ appId: app.appId,
                                                        tags: { owner: `sp-${gen}-${process.pid}` } }))
                found.push(s.sandboxId);
            assert.deepEqual(found, [sb.sandboxId]);
        });
        await step(`${gen}: fromId finds it; an unknown id is not found`, async () => {
            const again = await modal.sandboxes.fromId(sb.sandboxId);
            assert.equal(again.sandboxId, sb.sandboxId);
            // Some versions look the id up in fromId, others on first use.
            const unknown = gen === 'v1' ? 'sb-AAAAAAAAAAAAAAAAAAAAAA' : 'sb-unknown-v2-id';
            await assert.rejects(async () => (await modal.sandboxes.fromId(unknown)).terminate(),
                (e) => e instanceof NotFoundError || /NOT_FOUND|not found/i.test(String(e.message)));
        });
        await step(`${gen}: terminate; wait() then reports exit 137`, async () => {
            await sb.terminate();
            assert.equal(await sb.wait(), 137);
        });
    };
}

const groups = [badToken, lifecycle('v1')];
if (hasV2) groups.push(lifecycle('v2'));
await run(groups, async () => {
    for (const s of made) {
        try {
            await s.terminate();
        } catch {
            // already terminated, or the mock is gone
        }
    }
    for (const c of clients) {
        try {
            c.close();
        } catch {
            // older SDKs have no close()
        }
    }
});
