// Runs one fidelity script against a fresh `sandprobe mock`:
//   node mock.mjs <sandprobe binary> <vendor> <script.mjs>
// Starts `sandprobe mock --vendor <vendor> --listen 127.0.0.1:0`, waits for its ready line
// ({"vendor","url","env"} on stdout), runs `node <script>` with that env added (and nothing
// else pointing anywhere: the vendor variables from our own environment are dropped first),
// then stops the mock with SIGTERM. Exit status: the script's; 3 when the mock could not be
// started. The mock's log is shown only when something failed.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const [bin, vendor, script] = process.argv.slice(2);
if (!bin || !vendor || !script) {
    console.error('usage: node mock.mjs <sandprobe> <vendor> <script.mjs>');
    process.exit(2);
}
const mult = Number(process.env.SP_TEST_TIMEOUT_MULTIPLIER || '1') || 1;
const READY_MS = 30000 * mult;
const SCRIPT_MS = 180000 * mult;
const LOG_LINES = 200;

const log = [];
function keepLog(line) {
    log.push(line);
    if (log.length > LOG_LINES) log.shift();
}
function showLog(why) {
    console.error(`--- ${vendor} mock: ${why}; last ${log.length} lines of its log ---`);
    for (const line of log) console.error(line);
    console.error(`--- end of ${vendor} mock log ---`);
}

function startMock() {
    const child = spawn(bin, ['mock', '--vendor', vendor, '--listen', '127.0.0.1:0'], {
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    createInterface({ input: child.stderr }).on('line', keepLog);
    const ready = new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ready line within ${READY_MS} ms`)),
                                 READY_MS);
        const done = (fn, v) => { clearTimeout(timer); fn(v); };
        createInterface({ input: child.stdout }).on('line', (line) => {
            let msg;
            try {
                msg = JSON.parse(line);
            } catch {
                keepLog(`(stdout) ${line}`);
                return;
            }
            if (msg && msg.vendor === vendor && msg.env && typeof msg.env === 'object')
                done(resolve, msg);
            else
                keepLog(`(stdout) ${line}`);
        });
        child.on('error', (err) => done(reject, err));
        child.on('exit', (code, sig) =>
            done(reject, new Error(`mock exited before it was ready (${sig || `status ${code}`})`)));
    });
    return { child, ready };
}

// Resolves to null when the mock stopped cleanly (status 0, or killed by our SIGTERM),
// else to a description of how it ended: a mock that crashes or reports errors (a sanitizer
// finding, say) on the way out fails the run.
function stopMock(child) {
    const verdict = () => {
        if (child.exitCode === 0 || child.signalCode === 'SIGTERM') return null;
        return child.signalCode ? `killed by ${child.signalCode}` : `status ${child.exitCode}`;
    };
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(verdict());
    return new Promise((resolve) => {
        const hard = setTimeout(() => child.kill('SIGKILL'), 10000);
        child.once('exit', () => { clearTimeout(hard); resolve(verdict()); });
        child.kill('SIGTERM');
    });
}

function runScript(env) {
    return new Promise((resolve) => {
        const child = spawn(process.execPath, [script], { stdio: 'inherit', env });
        const timer = setTimeout(() => {
            console.error(`${script}: still running after ${SCRIPT_MS} ms, killed`);
            child.kill('SIGKILL');
        }, SCRIPT_MS);
        child.on('exit', (code, sig) => {
            clearTimeout(timer);
            resolve(code === null ? 128 + 9 : code);
            void sig;
        });
    });
}

// The script sees only the mock's idea of where the vendor is, never a real key or URL that
// happens to be set in the caller's environment.
function scriptEnv(mockEnv) {
    const env = {};
    for (const [k, v] of Object.entries(process.env))
        if (!/^(DAYTONA|E2B)_/.test(k)) env[k] = v;
    return { ...env, ...mockEnv };
}

const { child, ready } = startMock();
let info;
try {
    info = await ready;
} catch (err) {
    await stopMock(child);
    showLog(err.message);
    process.exit(3);
}
const rc = await runScript(scriptEnv(info.env));
const ended = await stopMock(child);
if (rc !== 0) {
    showLog(`${script} failed with status ${rc}`);
    process.exit(rc);
}
if (ended) {
    showLog(`the mock ended badly after SIGTERM (${ended})`);
    process.exit(3);
}
process.exit(0);
