// Drives the Daytona mock with the official TypeScript SDK of the 0.24 generation (toolbox
// under /api/toolbox, list as an array, plain-text logs): @daytonaio/sdk 0.24.2, the version
// OpenHands pins (versions/daytona@0.24.2 names this script). Configured only from
// DAYTONA_API_KEY and DAYTONA_API_URL as a user would. Every step asserts what the real service returns (spec/daytona-runloop.md
// Part A); failed steps are reported and the run goes on (see steps.mjs); the sandboxes
// made are deleted anyway.
import assert from 'node:assert/strict';
import { loadSdk, sdkVersion } from './sdk.mjs';
import { stepRunner } from './steps.mjs';

const SDK = '@daytonaio/sdk';
const sdk = await loadSdk(SDK);
const { Daytona, DaytonaError } = sdk;
// 0.24 kept the specific error classes out of its index.
const { DaytonaNotFoundError } = sdk.DaytonaNotFoundError ? sdk
    : await loadSdk(`${SDK}/src/errors/DaytonaError.js`);

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

const daytona = new Daytona();
let priv; // public: false
let pub; // public: true
let root; // the SDK's project dir (GET /toolbox/{id}/toolbox/project-dir)

async function createAndExec() {
    await step('a wrong API key is refused (401 -> DaytonaError)', async () => {
        const bad = new Daytona({ apiKey: 'not-the-key', apiUrl: process.env.DAYTONA_API_URL });
        await assert.rejects(bad.list(), DaytonaError);
    });
    await step('an unknown sandbox id is DaytonaNotFoundError (Nest 404 body)', async () => {
        await assert.rejects(daytona.get('00000000-0000-4000-8000-000000000000'),
                             DaytonaNotFoundError);
    });
    await step('create public:false with labels and env vars, waits until started', async () => {
        priv = await daytona.create({
            labels: { suite: SUITE, role: 'private' },
            envVars: { SP_GREETING: 'hello from env' },
            public: false,
        });
        made.push(priv);
        assert.equal(priv.state, 'started');
        assert.match(priv.id, /^[0-9a-f-]{36}$/);
        assert.equal(priv.public, false);
        assert.equal(priv.labels.suite, SUITE);
        assert.equal(priv.labels.role, 'private');
        assert.equal(priv.env.SP_GREETING, 'hello from env');
        assert.equal(typeof priv.organizationId, 'string');
        assert.equal(typeof priv.user, 'string');
    }, { fatal: true });
    await step('create public:true', async () => {
        pub = await daytona.create({ labels: { suite: SUITE, role: 'public' }, public: true });
        made.push(pub);
        assert.equal(pub.state, 'started');
        assert.equal(pub.public, true);
        assert.notEqual(pub.id, priv.id);
    }, { fatal: true });
    await step('executeCommand: stdout and exit code 0', async () => {
        const r = await priv.process.executeCommand('echo hello world');
        assert.equal(r.exitCode, 0);
        assert.equal(r.result.trim(), 'hello world');
    });
    await step('executeCommand: the create env vars reach commands', async () => {
        const r = await priv.process.executeCommand('printf %s "$SP_GREETING"');
        assert.equal(r.exitCode, 0);
        assert.equal(r.result, 'hello from env');
    });
    await step('executeCommand: non-zero exit code, stderr combined into result', async () => {
        const r = await priv.process.executeCommand('echo oops >&2; exit 3');
        assert.equal(r.exitCode, 3);
        assert.equal(r.result.trim(), 'oops');
    });
    await step('executeCommand: per-call env, expanded by the daemon\'s shell', async () => {
        // 0.24 sends `sh -c "export K=$(echo '<b64>' | base64 -d); ..."`. Today's daemon runs
        // that line through the user's shell, which expands the $(...) inside the double
        // quotes first, so a value with a space loses everything after it, as on the real
        // service (the 0.24 daemon split the line itself and kept it whole).
        let r = await priv.process.executeCommand('printf %s "$SP_ONE"', undefined,
                                                  { SP_ONE: 'one' });
        assert.equal(r.exitCode, 0);
        assert.equal(r.result, 'one');
        r = await priv.process.executeCommand('printf %s "$SP_TWO"', undefined,
                                              { SP_TWO: 'one two' });
        assert.equal(r.result, 'one');
    });
    await step('executeCommand: cwd', async () => {
        root = await priv.getUserRootDir();
        assert.equal(typeof root, 'string');
        assert.ok(root.startsWith('/'), `project dir ${root} is not absolute`);
        let r = await priv.process.executeCommand('mkdir -p sub/dir && echo here > sub/dir/mark');
        assert.equal(r.exitCode, 0);
        r = await priv.process.executeCommand('cat mark && pwd', `${root}/sub/dir`);
        assert.equal(r.exitCode, 0);
        const [mark, pwd] = r.result.trim().split('\n');
        assert.equal(mark, 'here');
        assert.ok(pwd.endsWith('/sub/dir'), `pwd printed ${pwd}`);
    });
}

async function sessions() {
    const sid = 'fidelity-session';
    await step('createSession', async () => {
        await priv.process.createSession(sid);
        const s = await priv.process.getSession(sid);
        assert.equal(s.sessionId, sid);
    });
    await step('createSession again is refused (409)', async () => {
        await assert.rejects(priv.process.createSession(sid), DaytonaError);
    });
    await step('executeSessionCommand sync: output, exit code, state persists', async () => {
        let r = await priv.process.executeSessionCommand(sid, { command: 'export SP_X=42; cd sub' });
        assert.equal(typeof r.cmdId, 'string');
        assert.equal(r.exitCode, 0);
        r = await priv.process.executeSessionCommand(sid, { command: 'echo "$SP_X"; cat dir/mark' });
        assert.equal(r.exitCode, 0);
        assert.equal(r.output, '42\nhere\n');
        r = await priv.process.executeSessionCommand(sid, { command: 'false' });
        assert.equal(r.exitCode, 1);
        r = await priv.process.executeSessionCommand(sid, { command: 'cd ..' });
        assert.equal(r.exitCode, 0);
    });
    await step('executeSessionCommand runAsync, getSessionCommand, logs', async () => {
        // The command waits (at most 5 s) for a file that a separate toolbox call creates,
        // so "still running" is observed without relying on timing. Paths are relative:
        // the mock's processes run in a host directory standing for the sandbox's "/", so
        // an absolute sandbox path inside a command line would not resolve there.
        // "(exit 7)", not "exit 7": session commands run in the session's own shell, which
        // a bare exit would end (as on the real daemon).
        const cmd = 'for i in $(seq 1 100); do [ -f go ] && break; sleep 0.05; done; ' +
                    '[ -f go ] && echo released; (exit 7)';
        const r = await priv.process.executeSessionCommand(sid, { command: cmd, runAsync: true });
        assert.equal(typeof r.cmdId, 'string');
        assert.ok(r.exitCode === undefined || r.exitCode === null,
                  `async exec answered exitCode ${r.exitCode}`);
        const running = await priv.process.getSessionCommand(sid, r.cmdId);
        assert.equal(running.id, r.cmdId);
        assert.equal(running.command, cmd);
        assert.equal(running.exitCode, undefined, 'exitCode must be absent while running');
        const t = await priv.process.executeCommand('touch go');
        assert.equal(t.exitCode, 0);
        const done = await until('the async command to finish', async () => {
            const c = await priv.process.getSessionCommand(sid, r.cmdId);
            return c.exitCode !== undefined && c.exitCode !== null ? c : null;
        });
        assert.equal(done.exitCode, 7);
        const logs = await priv.process.getSessionCommandLogs(sid, r.cmdId);
        assert.equal(logs, 'released\n',
                     'the async command did not see the file: do toolbox execute and session ' +
                     'commands block each other?');
        const s = await priv.process.getSession(sid);
        assert.ok(s.commands.some((c) => c.id === r.cmdId));
    });
    await step('getSessionCommandLogs follows a running command (onLogs)', async () => {
        const cmd = 'for i in 1 2 3; do echo line$i; sleep 0.1; done';
        const r = await priv.process.executeSessionCommand(sid, { command: cmd, runAsync: true });
        const chunks = [];
        await priv.process.getSessionCommandLogs(sid, r.cmdId, (c) => chunks.push(c));
        assert.equal(chunks.join(''), 'line1\nline2\nline3\n');
        const c = await priv.process.getSessionCommand(sid, r.cmdId);
        assert.equal(c.exitCode, 0);
    });
    await step('deleteSession', async () => {
        await priv.process.deleteSession(sid);
        await assert.rejects(priv.process.getSession(sid), DaytonaNotFoundError);
    });
}

async function files() {
    // Every byte value, so a text-mode or UTF-8 transfer shows up.
    const blob = Buffer.alloc(4096);
    for (let i = 0; i < blob.length; i++) blob[i] = (i * 7 + 3) & 0xff;
    await step('uploadFile + downloadFile round trip (binary)', async () => {
        await priv.fs.uploadFile(blob, 'data/blob.bin');
        const back = await priv.fs.downloadFile('data/blob.bin');
        assert.ok(Buffer.isBuffer(back));
        assert.equal(back.length, blob.length);
        assert.ok(back.equals(blob), 'downloaded bytes differ from the uploaded ones');
    });
    await step('uploadFile to an absolute path is visible to commands', async () => {
        await priv.fs.uploadFile(Buffer.from('abs\n'), `${root}/data/abs.txt`);
        const r = await priv.process.executeCommand('cat data/abs.txt');
        assert.equal(r.result, 'abs\n');
    });
    await step('createFolder + listFiles', async () => {
        await priv.fs.createFolder('data/newdir', '755');
        const list = await priv.fs.listFiles('data');
        const byName = Object.fromEntries(list.map((f) => [f.name, f]));
        assert.deepEqual(Object.keys(byName).sort(), ['abs.txt', 'blob.bin', 'newdir']);
        assert.equal(byName['blob.bin'].isDir, false);
        assert.equal(byName['blob.bin'].size, blob.length);
        assert.equal(byName.newdir.isDir, true);
        for (const f of list) {
            assert.equal(typeof f.modTime, 'string');
            assert.equal(typeof f.permissions, 'string');
        }
        const info = await priv.fs.getFileDetails('data/blob.bin');
        assert.equal(info.name, 'blob.bin');
        assert.equal(info.size, blob.length);
    });
    await step('deleteFile, then download is not found', async () => {
        await priv.fs.deleteFile('data/blob.bin');
        const list = await priv.fs.listFiles('data');
        assert.ok(!list.some((f) => f.name === 'blob.bin'));
        await assert.rejects(priv.fs.downloadFile('data/blob.bin'), DaytonaError);
    });
}

async function previewAndList() {
    await step('getPreviewLink(4444): url and token', async () => {
        for (const sb of [priv, pub]) {
            const link = await sb.getPreviewLink(4444);
            const url = new URL(link.url);
            assert.ok(url.hostname.startsWith(`4444-${sb.id}.`), `preview url ${link.url}`);
            assert.equal(typeof link.token, 'string');
            assert.ok(link.token.length > 0, 'preview token is empty');
        }
    });
    await step('list(labels) filters by label subset', async () => {
        const both = await daytona.list({ suite: SUITE });
        assert.deepEqual(both.map((s) => s.id).sort(), [priv.id, pub.id].sort());
        const one = await daytona.list({ suite: SUITE, role: 'public' });
        assert.deepEqual(one.map((s) => s.id), [pub.id]);
        const none = await daytona.list({ suite: SUITE, role: 'nobody' });
        assert.equal(none.length, 0);
    });
    await step('findOne by labels and by id', async () => {
        const byLabel = await daytona.findOne({ labels: { suite: SUITE, role: 'private' } });
        assert.equal(byLabel.id, priv.id);
        const byId = await daytona.findOne({ id: pub.id });
        assert.equal(byId.id, pub.id);
        assert.equal(byId.labels.role, 'public');
        await assert.rejects(daytona.findOne({ labels: { suite: SUITE, role: 'nobody' } }),
                             DaytonaError);
    });
}

async function stopStartDelete() {
    await step('stop waits until stopped; toolbox refuses a stopped sandbox', async () => {
        await daytona.stop(priv);
        assert.equal(priv.state, 'stopped');
        await assert.rejects(priv.process.executeCommand('echo hi'), DaytonaError);
    });
    await step('start waits until started; files survive the restart', async () => {
        await daytona.start(priv);
        assert.equal(priv.state, 'started');
        const r = await priv.process.executeCommand('cat data/abs.txt');
        assert.equal(r.exitCode, 0);
        assert.equal(r.result, 'abs\n');
    });
    await step('delete: the sandbox is destroyed and gone from list', async () => {
        for (const sb of [priv, pub]) {
            await daytona.delete(sb);
            assert.ok(['destroying', 'destroyed'].includes(sb.state), `state after delete ${sb.state}`);
            made.splice(made.indexOf(sb), 1);
        }
        // A sandbox still being destroyed may be listed for a while; then it is not.
        await until('deleted sandboxes to leave list()', async () =>
            (await daytona.list({ suite: SUITE })).length === 0);
        const again = await until('the sandbox to read as destroyed', async () => {
            const s = await daytona.get(priv.id);
            return s.state === 'destroyed' ? s : null;
        });
        assert.equal(again.id, priv.id);
    });
}

await run([createAndExec, sessions, files, previewAndList, stopStartDelete], async () => {
    for (const sb of made) await sb.delete().catch(() => undefined);
});
