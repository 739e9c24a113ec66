// The step runner both fidelity scripts share. Each step prints a TAP-like line; a failed step
// is reported and the run goes on, so one run lists every difference, while a step marked
// fatal (one later steps cannot do without) ends the run.
export function stepRunner(vendor) {
    const failures = [];
    let n = 0;

    async function step(name, fn, { fatal = false } = {}) {
        n += 1;
        try {
            await fn();
            console.log(`ok ${n} - ${vendor}: ${name}`);
        } catch (err) {
            console.log(`not ok ${n} - ${vendor}: ${name}`);
            console.log(String(err && err.stack ? err.stack : err).replace(/^/gm, '    # '));
            failures.push(name);
            if (fatal) throw err;
        }
    }

    // Runs the groups in order, then cleanup whatever happened, and exits: 0 when every
    // step passed, 1 otherwise.
    async function run(groups, cleanup) {
        try {
            for (const group of groups) await group();
        } catch {
            // reported by step(); the run stops at a fatal step
        } finally {
            await cleanup();
        }
        if (failures.length > 0) {
            console.log(`${vendor}: ${failures.length} of ${n} steps failed: ${failures.join('; ')}`);
            process.exit(1);
        }
        console.log(`${vendor}: all ${n} steps passed`);
        process.exit(0);
    }

    return { step, run };
}
