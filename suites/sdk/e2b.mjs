// Drives the E2B mock with the official JS SDK (npm `e2b`, the version spec/e2b-modal.md was
// read from), configured only from E2B_API_KEY, E2B_API_URL and E2B_SANDBOX_URL as a user
// would. Control plane and envd (REST + Connect RPC) are both exercised; every step asserts
// what the real service returns (spec/e2b-modal.md Part A). Failed steps are reported and the
// run goes on (see steps.mjs); the sandboxes made are killed anyway.
import assert from 'node:assert/strict';
import { atLeast, loadSdk, sdkVersion } from './sdk.mjs';
import { stepRunner } from './steps.mjs';

const e2b = await loadSdk('e2b');
const {
    AuthenticationError,
    CommandExitError,
    FileNotFoundError,
    NotFoundError,
    Sandbox,
    SandboxNotFoundError,
    RateLimitError,
    TimeoutError,
} = e2b;
// Since 2.51 the SDK retries a 429 carrying Retry-After and raises ServiceBusyError on a 503.
const retriesRateLimits = atLeast('e2b', '2.51.0');

const SUITE = `sdk-fidelity-${process.pid}`;
const HOME = '/home/user'; // envd's default user's home: relative paths resolve here
const made = [];

const { step, run } = stepRunner(`e2b@${sdkVersion('e2b')}`);

async function listAll(metadata) {
    const pager = Sandbox.list({ query: { metadata } });
    const all = [];
    while (pager.hasNext) all.push(...(await pager.nextItems()));
    return all;
}

let a; // the sandbox most steps use
let b; // a second one, for list filtering

async function createAndCommands() {
    await step('a wrong API key is refused (401 -> AuthenticationError)', async () => {
        const pager = Sandbox.list({ apiKey: `e2b_${'0'.repeat(40)}` });
        await assert.rejects(pager.nextItems(), AuthenticationError);
    });
    await step('create with metadata and envs', async () => {
        a = await Sandbox.create({
            metadata: { suite: SUITE, role: 'a' },
            envs: { SP_GREETING: 'hello from env' },
            timeoutMs: 300000,
        });
        made.push(a);
        assert.match(a.sandboxId, /^[a-z0-9]{20}$/);
        b = await Sandbox.create({ metadata: { suite: SUITE, role: 'b' } });
        made.push(b);
        assert.notEqual(a.sandboxId, b.sandboxId);
        const info = await a.getInfo();
        assert.equal(info.sandboxId, a.sandboxId);
        assert.equal(info.state, 'running');
        assert.deepEqual(info.metadata, { suite: SUITE, role: 'a' });
        assert.ok(!Number.isNaN(info.startedAt.getTime()));
    }, { fatal: true });
    await step('commands.run: stdout, stderr, exit code 0', async () => {
        const r = await a.commands.run('echo out; echo err >&2');
        assert.equal(r.exitCode, 0);
        assert.equal(r.stdout, 'out\n');
        assert.equal(r.stderr, 'err\n');
    });
    await step('commands.run: create envs and per-call envs', async () => {
        let r = await a.commands.run('printf %s "$SP_GREETING"');
        assert.equal(r.stdout, 'hello from env');
        r = await a.commands.run('printf %s "$SP_ONE"', { envs: { SP_ONE: 'one two' } });
        assert.equal(r.stdout, 'one two');
    });
    await step('commands.run: runs in the home directory, cwd option', async () => {
        // The mock runs real processes in a host directory standing for the sandbox's "/",
        // so what a shell prints for paths ends with the sandbox path rather than equal it.
        let r = await a.commands.run('mkdir -p work/dir && echo here > work/dir/mark; pwd');
        assert.equal(r.exitCode, 0);
        assert.ok(r.stdout.trim().endsWith(HOME), `pwd printed ${r.stdout}`);
        r = await a.commands.run('cat mark; pwd', { cwd: `${HOME}/work/dir` });
        const [mark, pwd] = r.stdout.trim().split('\n');
        assert.equal(mark, 'here');
        assert.ok(pwd.endsWith(`${HOME}/work/dir`), `pwd printed ${pwd}`);
    });
    await step('commands.run: non-zero exit is CommandExitError with exitCode', async () => {
        await assert.rejects(a.commands.run('echo bad >&2; exit 3'), (err) => {
            assert.ok(err instanceof CommandExitError, `got ${err}`);
            assert.equal(err.exitCode, 3);
            assert.equal(err.stderr, 'bad\n');
            assert.equal(err.error, 'exit status 3');
            return true;
        });
    });
    await step('commands.run: onStdout receives output as it is produced', async () => {
        const chunks = [];
        const r = await a.commands.run('for i in 1 2 3 4 5; do echo $i; sleep 0.05; done', {
            onStdout: (d) => chunks.push(d),
        });
        assert.equal(r.exitCode, 0);
        assert.equal(chunks.join(''), '1\n2\n3\n4\n5\n');
        assert.equal(r.stdout, '1\n2\n3\n4\n5\n');
        assert.ok(chunks.length >= 3,
                  `output came in ${chunks.length} chunk(s): the stream is not flushed per event`);
    });
    await step('commands.run: timeoutMs ends a long command with TimeoutError', async () => {
        const t0 = Date.now();
        await assert.rejects(a.commands.run('sleep 30', { timeoutMs: 500 }), TimeoutError);
        assert.ok(Date.now() - t0 < 20000, 'the timeout did not end the command');
    });
    await step('commands.run in the background, then wait()', async () => {
        const h = await a.commands.run('sleep 0.2; echo late', { background: true });
        assert.equal(typeof h.pid, 'number');
        const r = await h.wait();
        assert.equal(r.stdout, 'late\n');
    });
}

// Arms the mock's next `count` control-plane refusals (its own test route, see e2b_faults.c).
async function armFault(status, count, retryAfter) {
    const rsp = await fetch(`${process.env.E2B_API_URL}/_sandprobe/faults`, {
        method: 'POST',
        headers: { 'X-API-Key': process.env.E2B_API_KEY, 'Content-Type': 'application/json' },
        body: JSON.stringify({ status, count, retryAfter }),
    });
    assert.equal(rsp.status, 204, `arming a ${status} answered ${rsp.status}`);
}

async function refusals() {
    await step('429 with Retry-After: retried by the SDK (2.51+) or RateLimitError', async () => {
        await armFault(429, 1, 1);
        if (retriesRateLimits) {
            const t0 = Date.now();
            const all = await listAll({ suite: SUITE });
            assert.equal(all.length, 2);
            assert.ok(Date.now() - t0 >= 900, 'the SDK did not wait the Retry-After second');
        } else {
            await assert.rejects(listAll({ suite: SUITE }), RateLimitError);
        }
    });
    await step('503 (no capacity) is refused with its own error and leaves nothing behind',
               async () => {
        await armFault(503, 1, 1);
        await assert.rejects(Sandbox.create({ metadata: { suite: SUITE, role: 'busy' } }),
                             (err) => {
            if (e2b.ServiceBusyError) assert.ok(err instanceof e2b.ServiceBusyError, `got ${err}`);
            else assert.match(String(err), /503/);
            return true;
        });
        assert.equal((await listAll({ suite: SUITE, role: 'busy' })).length, 0);
    });
}

async function files() {
    await step('files.write (multipart) + files.read', async () => {
        const w = await a.files.write('notes/a.txt', 'hello file');
        assert.equal(w.name, 'a.txt');
        assert.ok(w.path.startsWith('/') && w.path.endsWith('/notes/a.txt'), `path ${w.path}`);
        assert.equal(await a.files.read('notes/a.txt'), 'hello file');
        const r = await a.commands.run('cat notes/a.txt');
        assert.equal(r.stdout, 'hello file');
    });
    await step('files.write (octet-stream) + read bytes round trip', async () => {
        const blob = new Uint8Array(4096);
        for (let i = 0; i < blob.length; i++) blob[i] = (i * 7 + 3) & 0xff;
        await a.files.write('notes/blob.bin', blob.buffer, { useOctetStream: true });
        const back = await a.files.read('notes/blob.bin', { format: 'bytes' });
        assert.equal(back.length, blob.length);
        assert.ok(Buffer.from(back).equals(Buffer.from(blob)), 'bytes differ after round trip');
    });
    await step('files.makeDir: true when made, false when it exists', async () => {
        assert.equal(await a.files.makeDir('notes/sub/deeper'), true);
        assert.equal(await a.files.makeDir('notes/sub/deeper'), false);
    });
    await step('files.list', async () => {
        const list = await a.files.list('notes');
        const byName = Object.fromEntries(list.map((e) => [e.name, e]));
        assert.deepEqual(Object.keys(byName).sort(), ['a.txt', 'blob.bin', 'sub']);
        assert.equal(byName['a.txt'].type, 'file');
        assert.equal(byName['a.txt'].size, 'hello file'.length);
        assert.equal(byName.sub.type, 'dir');
        assert.ok(byName['a.txt'].path.endsWith('/notes/a.txt'));
        assert.ok(byName['a.txt'].modifiedTime instanceof Date);
    });
    await step('files.exists + files.remove', async () => {
        assert.equal(await a.files.exists('notes/a.txt'), true);
        assert.equal(await a.files.exists('notes/nothing.txt'), false);
        await a.files.remove('notes/a.txt');
        assert.equal(await a.files.exists('notes/a.txt'), false);
        await a.files.remove('notes/sub');
        assert.equal(await a.files.exists('notes/sub/deeper'), false);
    });
    await step('reading a missing file is FileNotFoundError', async () => {
        await assert.rejects(a.files.read('notes/a.txt'), FileNotFoundError);
        await assert.rejects(a.files.list('notes/none'), NotFoundError);
    });
}

async function lifecycle() {
    await step('Sandbox.connect(id) reaches the same sandbox', async () => {
        const again = await Sandbox.connect(a.sandboxId);
        assert.equal(again.sandboxId, a.sandboxId);
        const r = await again.commands.run('cat notes/blob.bin | wc -c');
        assert.equal(r.stdout.trim(), '4096');
    });
    await step('Sandbox.list({query:{metadata}}) filters by metadata', async () => {
        const both = await listAll({ suite: SUITE });
        assert.deepEqual(both.map((s) => s.sandboxId).sort(), [a.sandboxId, b.sandboxId].sort());
        for (const s of both) {
            assert.equal(s.state, 'running');
            assert.equal(s.metadata.suite, SUITE);
            assert.ok(!Number.isNaN(s.startedAt.getTime()));
            assert.ok(!Number.isNaN(s.endAt.getTime()));
        }
        const one = await listAll({ suite: SUITE, role: 'b' });
        assert.deepEqual(one.map((s) => s.sandboxId), [b.sandboxId]);
        assert.equal((await listAll({ suite: SUITE, role: 'nobody' })).length, 0);
    });
    await step('setTimeout moves the end time', async () => {
        const before = (await a.getInfo()).endAt.getTime();
        await a.setTimeout(60000);
        const after = (await a.getInfo()).endAt.getTime();
        assert.ok(after < before, `endAt ${new Date(after).toISOString()} did not move back`);
        assert.ok(after > Date.now(), 'endAt is in the past');
    });
    await step('pause; pause again is false; connect resumes it', async () => {
        assert.equal(await b.isRunning(), true);
        assert.equal(await b.pause(), true);
        assert.equal(await b.pause(), false);
        const paused = await listAll({ suite: SUITE, role: 'b' });
        assert.deepEqual(paused.map((s) => s.state), ['paused']);
        const resumed = await Sandbox.connect(b.sandboxId);
        const r = await resumed.commands.run('echo back');
        assert.equal(r.stdout, 'back\n');
        assert.equal((await b.getInfo()).state, 'running');
    });
    await step('kill; connect to the killed sandbox fails', async () => {
        assert.equal(await a.kill(), true);
        made.splice(made.indexOf(a), 1);
        await assert.rejects(Sandbox.connect(a.sandboxId), SandboxNotFoundError);
        assert.equal(await Sandbox.kill(a.sandboxId), false);
        const left = await listAll({ suite: SUITE });
        assert.deepEqual(left.map((s) => s.sandboxId), [b.sandboxId]);
        assert.equal(await b.kill(), true);
        made.splice(made.indexOf(b), 1);
        assert.equal((await listAll({ suite: SUITE })).length, 0);
    });
}

await run([createAndCommands, refusals, files, lifecycle], async () => {
    for (const sb of made) await sb.kill().catch(() => undefined);
});
