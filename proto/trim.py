#!/usr/bin/env python3
"""Trims Modal's api.proto and task_command_router.proto (modal-labs/modal-client,
Apache-2.0, see LICENSE here) to the RPCs sandprobe speaks, keeping package, names and field
numbers exactly; messages and enums come along by transitive reference. Run by hand when the
RPC list or the upstream revision changes:

    python3 proto/trim.py <modal-client>/modal_proto proto/modal_proto

The trimmed files still use proto3 `optional`; proto/rewrite.sh turns that into one-field
oneofs at build time for Debian's protoc-c 1.4.1. The RPC lists below follow
spec/runloop-modal.md M5 (V1 set, V2 set, task command router)."""
import re
import sys

API_RPCS = """AuthTokenGet AppGetOrCreate AppLookup EnvironmentGetOrCreate ImageGetOrCreate
ImageJoinStreaming SecretGetOrCreate SandboxCreate SandboxGetTaskId SandboxGetTunnels
SandboxWait SandboxTerminate SandboxList SandboxTagsSet TaskGetCommandRouterAccess
ContainerExec ContainerExecGetOutput ContainerExecWait SandboxCreateV2 SandboxWaitV2
SandboxTerminateV2 SandboxListV2 SandboxGetTaskIdV2 SandboxGetTunnelsV2
SandboxGetCommandRouterAccess SandboxTagsSetV2""".split()
TCR_RPCS = "TaskExecStart TaskExecStdioRead TaskExecWait TaskExecPoll".split()
# Fields modal JS 0.11.1 sends that the mirrored api.proto (HEAD 69519aef, JS 0.9.0 era)
# lacks, from the encode() functions in modal@0.11.1/dist/index.js (spec M6).
SECRET_SOURCE = """message SecretSource {
  string secret_id = 1;
  StringMap env = 2;
}"""
ADDITIONS = {
    "SandboxCreateV2Request": ["  repeated SecretSource secret_sources = 6;"],
    "SandboxCreateV2Response": ["  string sandbox_token = 6;"],
    "TaskExecStartRequest": ["  repeated modal.client.SecretSource secret_sources = 13;"],
}
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def blocks(text):
    """Top-level (kind, name, text) blocks plus the header lines before the first block."""
    out, header, i, lines = [], [], 0, text.split("\n")
    pending = []  # comments just above a block
    while i < len(lines):
        line = lines[i]
        m = re.match(r"^(message|enum|service)\s+(\w+)\s*\{", line)
        if not m:
            if not out and not re.match(r"^\s*//", line):
                header.append(line)
            pending = pending + [line] if re.match(r"^\s*//", line) else []
            i += 1
            continue
        depth, body = 0, []
        while True:
            code = re.sub(r"//.*", "", lines[i])
            depth += code.count("{") - code.count("}")
            body.append(lines[i])
            i += 1
            if depth == 0:
                break
        if m.group(2) in ADDITIONS and not any(a in body for a in ADDITIONS[m.group(2)]):
            body[-1:-1] = ADDITIONS[m.group(2)]
        out.append((m.group(1), m.group(2), "\n".join(pending + body)))
        pending = []
    return header, out


def refs(text, names):
    code = re.sub(r"//.*", "", text)
    found = set()
    for w in WORD.findall(code):
        for part in (w.split(".")[-2:] if w.startswith("modal.") else [w.split(".")[0]]):
            if part in names:
                found.add(part)
    return found


WKT = {"any": ["Any"], "empty": ["Empty"], "struct": ["Struct", "Value", "ListValue"],
       "timestamp": ["Timestamp"], "wrappers": [t + "Value" for t in
       ("Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes")]}


def unused_import(line, used):
    """True for an import of a well-known type file none of whose types is used."""
    m = re.match(r'import "google/protobuf/(\w+)\.proto";', line.strip())
    return bool(m) and not any("google.protobuf." + t in used for t in WKT.get(m.group(1), []))


def trim(text, rpcs, extra_roots=()):
    header, bl = blocks(text)
    by_name = {n: (k, t) for k, n, t in bl if k != "service"}
    service = [b for b in bl if b[0] == "service"][0]
    lines = service[2].split("\n")
    kept = [lines[0]] + [l for l in lines[1:-1]
                         if re.match(r"\s*rpc (\w+)\(", l) and re.match(r"\s*rpc (\w+)\(", l).group(1) in rpcs] + [lines[-1]]
    svc = "\n".join(kept)
    want, todo = set(), list(refs(svc, by_name) | set(extra_roots))
    while todo:
        n = todo.pop()
        if n in want or n not in by_name:
            continue
        want.add(n)
        todo.extend(refs(by_name[n][1], by_name) - want)
    body = [t for k, n, t in bl if k != "service" and n in want]
    used = "\n".join(re.sub(r"//.*", "", t) for t in body + [svc])
    header = [h for h in header if not unused_import(h, used)]
    return "\n".join(header).rstrip() + "\n\n" + "\n\n".join(body + [svc]) + "\n", want


def main():
    src, dst = sys.argv[1], sys.argv[2]
    api = open(f"{src}/api.proto").read()
    if "message SecretSource " not in api:
        api = api.replace("\nmessage StringMap {", "\n" + SECRET_SOURCE + "\n\nmessage StringMap {", 1)
    tcr = open(f"{src}/task_command_router.proto").read()
    tcr_out, _ = trim(tcr, TCR_RPCS)
    api_roots = {"SecretSource"} | {w.split(".")[-1] for w in re.findall(r"modal\.client\.\w+", re.sub(r"//.*", "", tcr_out))}
    api_out, _ = trim(api, API_RPCS, api_roots)
    note = "// Trimmed by sandprobe's proto/trim.py from modal-labs/modal-client (Apache-2.0).\n"
    open(f"{dst}/api.proto", "w").write(note + api_out)
    open(f"{dst}/task_command_router.proto", "w").write(note + tcr_out)


if __name__ == "__main__":
    main()
