// Drives the Daytona mock with the official TypeScript SDK of the current generation
// (@daytonaio/sdk 0.218.0 in versions/daytona@0.218.0): toolbox calls through the proxy URL
// the sandbox record names ({toolboxProxyUrl}/{id}/...), list as a cursor iterator over
// {items,nextCursor}, downloads through files/bulk-download (multipart), session output
// split into stdout/stderr, and the specific error classes the SDK picks from the daemon's
// (source, code). Configured only from DAYTONA_API_KEY and DAYTONA_API_URL as a user would;
// every step asserts what the real service returns (spec/daytona-runloop.md Part A, the
// daemon in daytonaio/daytona apps/daemon). Failed steps are reported and the run goes on
// (see steps.mjs); the sandboxes made are deleted anyway. Not covered: following session
// logs, which the current SDK does over a WebSocket the mock does not serve.
import assert from 'node:assert/strict';
import { loadSdk, sdkVersion } from './sdk.mjs';
import { stepRunner } from './steps.mjs';

const SDK = '@daytonaio/sdk';
const {
    Daytona,
    DaytonaAuthenticationError,
    DaytonaError,
    DaytonaFileNotFoundError,
    DaytonaNotFoundError,
    DaytonaProcessExecutionTimeoutError,
} = await loadSdk(SDK);

const SUITE = `sdk-fidelity-${process.pid}`;
const made = [];

const { step, run } = stepRunner(`daytona@${sdkVersion(SDK)}`);

async function until(what, fn, ms = 15000) {
    const end = Date.now() + ms;
    for (;;) {
        const v = await fn();
        if (v) return v;
        if (Date.now() > end) throw new Error(`gave up waiting for ${what} after ${ms} ms`);
        await new Promise((r) => setTimeout(r, 50));
    }
}

async function listIds(query) {
    const ids = [];
    for await (const sb of daytona.list(query)) ids.push(sb.id);
    return ids.sort();
}

const daytona = new Daytona();
const origin = new URL(process.env.DAYTONA_API_URL).origin;
let priv; // public: false
let pub; // public: true, created with a name
let home; // the user's home (GET {proxy}/{id}/user-home-dir)

async function createAndExec() {
    await step('a wrong API key is refused (401 -> DaytonaAuthenticationError)', async () => {
        const bad = new Daytona({ apiKey: 'not-the-key', apiUrl: process.env.DAYTONA_API_URL });
        await assert.rejects(bad.list().next(), DaytonaAuthenticationError);
    });
    await step('an unknown sandbox id or name is DaytonaNotFoundError', async () => {
        await assert.rejects(daytona.get('00000000-0000-4000-8000-000000000000'),
                             DaytonaNotFoundError);
        await assert.rejects(daytona.get('no-such-name'), DaytonaNotFoundError);
    });
    await step('create public:false with labels and env vars: the current record', async () => {
        priv = await daytona.create({
            labels: { suite: SUITE, role: 'private' },
            envVars: { SP_GREETING: 'hello from env' },
            public: false,
        });
        made.push(priv);
        assert.equal(priv.state, 'started');
        assert.match(priv.id, /^[0-9a-f-]{36}$/);
        assert.equal(priv.name, priv.id, 'an unnamed sandbox is named by its id');
        assert.equal(priv.public, false);
        assert.equal(priv.labels.suite, SUITE);
        assert.equal(priv.env.SP_GREETING, 'hello from env');
        assert.equal(priv.networkBlockAll, false);
        assert.equal(priv.toolboxProxyUrl, `${origin}/toolbox`);
    }, { fatal: true });
    await step('create public:true with a name; get by name', async () => {
        pub = await daytona.create({
            name: `${SUITE}-pub`,
            labels: { suite: SUITE, role: 'public' },
            public: true,
        });
        made.push(pub);
        assert.equal(pub.state, 'started');
        assert.equal(pub.public, true);
        assert.equal(pub.name, `${SUITE}-pub`);
        const again = await daytona.get(`${SUITE}-pub`);
        assert.equal(again.id, pub.id);
    }, { fatal: true });
    await step('user-home-dir and work-dir', async () => {
        home = await priv.getUserHomeDir();
        assert.equal(home, '/home/daytona');
        assert.equal(await priv.getWorkDir(), home);
    });
    await step('executeCommand: through the user\'s shell, stdout+stderr in result', async () => {
        const r = await priv.process.executeCommand('[[ -n "$BASH_VERSION" ]] && echo bash; echo oops >&2; exit 3');
        assert.equal(r.exitCode, 3);
        assert.equal(r.result, 'bash\noops\n');
    });
    await step('executeCommand: create env vars and per-call envs', async () => {
        let r = await priv.process.executeCommand('printf %s "$SP_GREETING"');
        assert.equal(r.result, 'hello from env');
        r = await priv.process.executeCommand('printf %s "$SP_ONE"', undefined, { SP_ONE: 'one two' });
        assert.equal(r.exitCode, 0);
        assert.equal(r.result, 'one two');
    });
    await step('executeCommand: cwd, relative to the home', async () => {
        let r = await priv.process.executeCommand('mkdir -p sub/dir && echo here > sub/dir/mark');
        assert.equal(r.exitCode, 0);
        r = await priv.process.executeCommand('cat mark', `${home}/sub/dir`);
        assert.equal(r.result, 'here\n');
    });
    await step('executeCommand: a timeout is DaytonaProcessExecutionTimeoutError', async () => {
        await assert.rejects(priv.process.executeCommand('sleep 10', undefined, undefined, 1),
                             DaytonaProcessExecutionTimeoutError);
    });
}

async function sessions() {
    const sid = 'fidelity-session';
    await step('createSession, getSession, a second create is refused', async () => {
        await priv.process.createSession(sid);
        const s = await priv.process.getSession(sid);
        assert.equal(s.sessionId, sid);
        await assert.rejects(priv.process.createSession(sid), DaytonaError);
    });
    await step('executeSessionCommand: stdout and stderr apart, state persists', async () => {
        let r = await priv.process.executeSessionCommand(sid, { command: 'export SP_X=42; cd sub' });
        assert.equal(r.exitCode, 0);
        r = await priv.process.executeSessionCommand(sid, {
            command: 'echo "$SP_X"; echo warn >&2; cat dir/mark',
        });
        assert.equal(r.exitCode, 0);
        assert.equal(r.stdout, '42\nhere\n');
        assert.equal(r.stderr, 'warn\n');
        r = await priv.process.executeSessionCommand(sid, { command: 'cd ..; false' });
        assert.equal(r.exitCode, 1);
    });
    await step('runAsync, getSessionCommand, logs as {output,stdout,stderr}', async () => {
        const cmd = 'for i in $(seq 1 100); do [ -f go ] && break; sleep 0.05; done; ' +
                    '[ -f go ] && echo released; echo err >&2; (exit 7)';
        const r = await priv.process.executeSessionCommand(sid, { command: cmd, runAsync: true });
        assert.equal(typeof r.cmdId, 'string');
        const running = await priv.process.getSessionCommand(sid, r.cmdId);
        assert.equal(running.command, cmd);
        assert.equal(running.exitCode, undefined, 'exitCode must be absent while running');
        assert.equal((await priv.process.executeCommand('touch go')).exitCode, 0);
        const done = await until('the async command to finish', async () => {
            const c = await priv.process.getSessionCommand(sid, r.cmdId);
            return c.exitCode !== undefined && c.exitCode !== null ? c : null;
        });
        assert.equal(done.exitCode, 7);
        const logs = await priv.process.getSessionCommandLogs(sid, r.cmdId);
        assert.equal(logs.stdout, 'released\n');
        assert.equal(logs.stderr, 'err\n');
        assert.ok(logs.output.includes('released') && logs.output.includes('err'),
                  `output ${JSON.stringify(logs.output)}`);
    });
    await step('deleteSession', async () => {
        await priv.process.deleteSession(sid);
        await assert.rejects(priv.process.getSession(sid), DaytonaNotFoundError);
    });
}

async function files() {
    const blob = Buffer.alloc(4096);
    for (let i = 0; i < blob.length; i++) blob[i] = (i * 7 + 3) & 0xff;
    await step('uploadFile (chunked multipart) + downloadFile (bulk-download)', async () => {
        await priv.fs.uploadFile(blob, 'data/blob.bin');
        const back = await priv.fs.downloadFile('data/blob.bin');
        assert.ok(Buffer.isBuffer(back));
        assert.ok(back.equals(blob), 'downloaded bytes differ from the uploaded ones');
        await priv.fs.uploadFile(Buffer.from('abs\n'), `${home}/data/abs.txt`);
        const r = await priv.process.executeCommand('cat data/abs.txt');
        assert.equal(r.result, 'abs\n');
    });
    await step('downloadFiles: several at once, a missing one reported per file', async () => {
        const got = await priv.fs.downloadFiles([
            { source: 'data/abs.txt' }, { source: 'data/none.txt' }, { source: 'data/blob.bin' },
        ]);
        assert.equal(got[0].result.toString(), 'abs\n');
        assert.ok(got[1].error, 'a missing file must come back as an error part');
        assert.equal(got[1].errorDetails.code, 'FILE_NOT_FOUND');
        assert.ok(got[2].result.equals(blob));
    });
    await step('listFiles, getFileDetails, createFolder', async () => {
        await priv.fs.createFolder('data/newdir', '755');
        const list = await priv.fs.listFiles('data');
        assert.deepEqual(list.map((f) => f.name).sort(), ['abs.txt', 'blob.bin', 'newdir']);
        const info = await priv.fs.getFileDetails('data/blob.bin');
        assert.equal(info.size, blob.length);
        assert.equal(info.isDir, false);
    });
    await step('a missing file is DaytonaFileNotFoundError', async () => {
        await priv.fs.deleteFile('data/blob.bin');
        await assert.rejects(priv.fs.downloadFile('data/blob.bin'), DaytonaFileNotFoundError);
        await assert.rejects(priv.fs.getFileDetails('data/blob.bin'), DaytonaFileNotFoundError);
    });
}

async function listAndPreview() {
    await step('getPreviewLink(4444): url and token', async () => {
        const link = await priv.getPreviewLink(4444);
        assert.ok(new URL(link.url).hostname.startsWith(`4444-${priv.id}.`), link.url);
        assert.ok(link.token.length > 0);
    });
    await step('list: a cursor iterator filtered by labels, paging with limit', async () => {
        assert.deepEqual(await listIds({ labels: { suite: SUITE } }), [priv.id, pub.id].sort());
        assert.deepEqual(await listIds({ labels: { suite: SUITE }, limit: 1 }),
                         [priv.id, pub.id].sort());
        assert.deepEqual(await listIds({ labels: { suite: SUITE, role: 'public' } }), [pub.id]);
        assert.deepEqual(await listIds({ labels: { suite: SUITE, role: 'nobody' } }), []);
    });
}

async function stopStartDelete() {
    await step('stop waits until stopped; the toolbox refuses a stopped sandbox', async () => {
        await daytona.stop(priv);
        assert.equal(priv.state, 'stopped');
        await assert.rejects(priv.process.executeCommand('echo hi'), DaytonaError);
    });
    await step('start waits until started; files survive the restart', async () => {
        await daytona.start(priv);
        assert.equal(priv.state, 'started');
        const r = await priv.process.executeCommand('cat data/abs.txt');
        assert.equal(r.result, 'abs\n');
    });
    await step('delete: destroyed and gone from list', async () => {
        for (const sb of [priv, pub]) {
            await daytona.delete(sb);
            assert.ok(['destroying', 'destroyed'].includes(sb.state), `state ${sb.state}`);
            made.splice(made.indexOf(sb), 1);
        }
        await until('deleted sandboxes to leave list()',
                    async () => (await listIds({ labels: { suite: SUITE } })).length === 0);
    });
}

await run([createAndExec, sessions, files, listAndPreview, stopStartDelete], async () => {
    for (const sb of made) await sb.delete().catch(() => undefined);
});
