// Loads a vendor SDK from the version folder run.sh chose (SP_SDK_DIR, one npm project per
// (vendor, version) under versions/), so one step script serves every pinned version of an
// SDK generation. The module is resolved from that folder's own node_modules, never from
// anything installed beside the scripts.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = process.env.SP_SDK_DIR;
if (!dir) throw new Error('SP_SDK_DIR is not set: run the step scripts through run.sh');
const require = createRequire(join(dir, 'package.json'));

// The SDK package's module namespace, imported as ESM where the package offers it.
export async function loadSdk(pkg) {
    return import(pathToFileURL(require.resolve(pkg)).href);
}

// The installed version of pkg ("0.218.0"), read from its own package.json.
export function sdkVersion(pkg) {
    return JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')).version;
}

// True when the installed version is at least want ("0.100.0"); numeric, part by part.
export function atLeast(pkg, want) {
    const have = sdkVersion(pkg).split('.').map(Number);
    const need = want.split('.').map(Number);
    for (let i = 0; i < need.length; i++)
        if ((have[i] || 0) !== need[i]) return (have[i] || 0) > need[i];
    return true;
}
