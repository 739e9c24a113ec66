/* The mocks' public API: start a faithful mock of one vendor on loopback, read back the
 * variables that point sandprobe and the vendor's official SDK at it, look at what it saw,
 * stop it. `sandprobe mock` and the suites use this header only. */
#ifndef SP_MOCK_H
#define SP_MOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "kv.h"

/* Delays of the latency model, in milliseconds. Each is drawn uniformly from
 * [d * (1 - jitter), d * (1 + jitter)] with the mock's seeded generator. */
struct sp_latency {
    long create_ms; /* creating -> started */
    long start_ms;  /* stopped -> started */
    long stop_ms;   /* started -> stopped */
    long delete_ms; /* deleting -> gone */
    long server_ms; /* the action server answers this long after its command ran */
    double jitter;  /* 0 .. 1 */
};

/* Phases of the distribution latency model (--latency PHASE=DIST:PARAMS):
 *   create  extra delay of the create call's reply
 *   start   until the vendor reports started/running (after create, or after a start call);
 *           Daytona and E2B answer create once started, so their create call takes both
 *   alive   started -> the data plane (action server, envd) answers
 *   exec    delay of an exec's reply (action-server run, toolbox execute, envd Start)
 *   delete  delete -> gone */
enum sp_mock_phase {
    SP_MOCK_PHASE_CREATE,
    SP_MOCK_PHASE_START,
    SP_MOCK_PHASE_ALIVE,
    SP_MOCK_PHASE_EXEC,
    SP_MOCK_PHASE_DELETE,
    SP_MOCK_PHASE__COUNT
};

enum sp_dist_kind {
    SP_DIST_UNSET,     /* the phase falls back to struct sp_latency (0 when has_latency) */
    SP_DIST_FIXED,     /* a = value */
    SP_DIST_UNIFORM,   /* [a, b] */
    SP_DIST_NORMAL,    /* mean a, standard deviation b, clamped at 0 */
    SP_DIST_LOGNORMAL, /* mean a, standard deviation b of the delay itself */
    SP_DIST_TABLE      /* percentile table: n points (pct ascending to 100, value) */
};

#define SP_DIST_TABLE_MAX 16

/* One delay distribution; all times in microseconds. */
struct sp_dist {
    enum sp_dist_kind kind;
    double a_us, b_us;
    size_t n;
    double pct[SP_DIST_TABLE_MAX]; /* cumulative percent, ascending, last = 100 */
    double val_us[SP_DIST_TABLE_MAX];
};

/* Where sandbox commands and files live. SHELL: a real /bin/sh and a directory per sandbox
 * (conformance fidelity). SYNTHETIC: no process, in-memory files and a few built-in commands
 * (load runs of thousands of sandboxes). */
enum sp_mock_backend { SP_MOCK_BACKEND_SHELL, SP_MOCK_BACKEND_SYNTHETIC };

/* Faults a test can ask for on the next sandboxes created (see sp_mock_inject). */
enum sp_mock_fault {
    SP_MOCK_FAULT_NONE,
    SP_MOCK_FAULT_STUCK_CREATING,  /* never leaves the vendor's creating state */
    SP_MOCK_FAULT_ERROR_STATE,     /* goes to the vendor's error state instead of started */
    SP_MOCK_FAULT_NEVER_ALIVE,     /* started, but the data plane never answers */
    SP_MOCK_FAULT_VANISH,          /* deleted behind the client's back `after` its create */
    SP_MOCK_FAULT_DATA_PLANE_DIES, /* the data plane resets every connection from `after` on */
    SP_MOCK_FAULT_SERVER_CRASH     /* the action server stops answering `after` it came up */
};

/* Vendor-specific switches. */
#define SP_MOCK_DAYTONA_LIST_CURSOR (1u << 0) /* GET /sandbox answers {items,nextCursor} */

struct sp_mock_config {
    const char *vendor;        /* "daytona", "e2b" */
    const char *host;          /* listen address; NULL = 127.0.0.1 */
    unsigned port;             /* 0 = an ephemeral port */
    const char *key;           /* API key the mock accepts; NULL = a random one */
    uint64_t seed;             /* the latency model only (ids and tokens are always random);
                                * 0 = a fixed default */
    struct sp_latency latency; /* used when has_latency; else the vendor-typical defaults */
    bool has_latency;          /* with nothing else set: zero latency everywhere */
    struct sp_dist dist[SP_MOCK_PHASE__COUNT]; /* set by sp_mock_latency_parse; win over latency */
    enum sp_mock_backend backend;              /* SHELL (0) by default */
    unsigned idle_timeout_s;   /* an idle or stalled connection is closed; 0 = 60 s */
    unsigned max_connections;  /* past it new requests get 503; 0 = 4096 */
    void *log;                 /* FILE * for the request log; NULL = stderr */
    const char *root_dir;      /* parent of sandbox workspaces; NULL = $TMPDIR or /tmp */
    unsigned flags;            /* SP_MOCK_* */
    bool quiet;                /* no request log on stderr */
    const char *const *faults; /* fault specs (grammar below), armed at start */
    size_t n_faults;
    const char *faults_file; /* a scenario file (JSON, see sp_mock_faults_load); NULL = none */
};

struct sp_mock;

/* Applies one latency spec "PHASE=DIST:PARAMS" to cfg and sets has_latency. PHASE is create,
 * start, alive, exec or delete; DIST:PARAMS one of (times with a unit: us, ms, s)
 *   fixed:T                    always T
 *   uniform:LO,HI              uniform in [LO, HI]
 *   normal:MEAN,SD             normal, negative draws become 0
 *   lognormal:MEAN,SD          log-normal with that mean and standard deviation
 *   table:P1%=T1,P2%=T2,...    percentile table, P ascending, the last 100%: T1 up to
 *                              P1, then linear from (Pi, Ti) to (Pi+1, Ti+1). So
 *                              table:99%=20ms,99.01%=1s,100%=1s gives 20 ms to 99 % of
 *                              draws and stalls 1 % about 1 s.
 * Repeatable (a later spec of the same phase replaces the earlier). A bad spec is a config
 * error naming the spec and what is wrong. */
enum sp_err
sp_mock_latency_parse(struct sp_mock_config *cfg, const char *spec, struct sp_error *err);
/* A draw from d, for a uniform u in [0, 1) and a standard normal z (the caller's seeded
 * generator supplies both). Microseconds, never negative. */
double sp_dist_draw(const struct sp_dist *d, double u, double z);

/* Starts a mock and returns once it accepts connections. */
enum sp_err
sp_mock_start(const struct sp_mock_config *cfg, struct sp_mock **out, struct sp_error *err);
/* Stops serving, kills every sandbox process and removes the workspaces. NULL is a no-op. */
void sp_mock_stop(struct sp_mock *m);

/* Registered vendor names, as for sp_provider_names. */
size_t sp_mock_vendor_names(const char **names, size_t max);

const char *sp_mock_vendor(const struct sp_mock *m);
/* Base URL of the mock's API, e.g. "http://127.0.0.1:40123/api". */
const char *sp_mock_url(const struct sp_mock *m);
unsigned sp_mock_port(const struct sp_mock *m);
/* Variables that point both sandprobe and the vendor's SDK at this mock. */
const struct sp_kv *sp_mock_env(const struct sp_mock *m);

struct sp_mock_stats {
    long requests;     /* every request seen */
    long unauthorized; /* requests refused for a bad or missing key */
    long created;      /* sandboxes created */
    long live;         /* sandboxes not deleted (stopped ones count: they still exist) */
    long running;      /* sandboxes started or running */
    long faults;       /* faults injected, all kinds */
};
void sp_mock_stats(struct sp_mock *m, struct sp_mock_stats *out);

/* The next `count` sandboxes created get fault f (VANISH, DATA_PLANE_DIES and SERVER_CRASH
 * strike 1 s after; use sp_mock_fault_add with after= for another time). */
void sp_mock_inject(struct sp_mock *m, enum sp_mock_fault f, int count);

/* --- fault injection (faults.c) ------------------------------------------------------------
 * A fault spec is one line of words:
 *   [METHOD] PATH ACTION [OPTION...]     an HTTP fault on the requests that match
 *   sandbox KIND [OPTION...]             a sandbox fault on the next sandboxes created
 * METHOD is GET, POST, PUT, PATCH, DELETE, HEAD or * (the default). PATH starts with '/' and
 * matches segment by segment: '*' (or "{}") is one segment, a final '**' any rest; it matches
 * the whole path or the path after the vendor's API prefix ("/sandbox" is Daytona's
 * /api/sandbox). Data-plane requests (Host <port>-<id>.localhost) match by their path too.
 * ACTION, one of:
 *   429 500 502 503 504  that status with the vendor's own error body (429 and 503 carry
 *                        Retry-After, retry-after=S, 1 by default)
 *   delay                the reply waits a draw of dist=DIST:PARAMS (--latency's DIST syntax,
 *                        e.g. dist=uniform:1s,2s); other faults then still apply
 *   reset                the connection is reset before any byte of the reply
 *   reset-mid            the status and half the body go out, then a reset
 *   empty                the reply's status with an empty body
 *   truncate             the first half of the body, with a Content-Length that says so
 *   malformed            the body replaced by bytes no parser accepts
 *   oversize             a JSON body of size=BYTES (default 96 MiB, over any client's cap)
 *   dribble              the reply at rate=BYTES per second (default 64)
 *   stall                nothing at all until the client gives up (or for=TIME passed)
 *   cut                  a streamed reply (Connect, chunked output) reset after its first part
 *   no-eos               a stream that ends without its end-of-stream (Connect's end frame;
 *                        the chunked terminator otherwise)
 * KIND (sandbox faults): stuck, error, never-alive, vanish, dataplane-dies, server-crash
 * (the last three strike after=TIME after create, 1s by default).
 * OPTIONS: p=PROBABILITY (0..1, default 1; drawn from the mock's seed), count=N (at most N
 * injections), plane=api|data|any (default any; data = routed to a sandbox by its Host),
 * vendor=NAME (only on that vendor's mock),
 * and the action's own (retry-after, dist, size, rate, for, after). TIMEs take a unit
 * (us, ms, s). A faulted request is journalled with the status it got (0 for resets). */
enum sp_mock_fault_kind {
    SP_MOCK_FK_DELAY,
    SP_MOCK_FK_STATUS,
    SP_MOCK_FK_RESET,
    SP_MOCK_FK_RESET_MID,
    SP_MOCK_FK_EMPTY,
    SP_MOCK_FK_TRUNCATE,
    SP_MOCK_FK_MALFORMED,
    SP_MOCK_FK_OVERSIZE,
    SP_MOCK_FK_DRIBBLE,
    SP_MOCK_FK_STALL,
    SP_MOCK_FK_CUT,
    SP_MOCK_FK_NO_EOS,
    SP_MOCK_FK_SB_STUCK,
    SP_MOCK_FK_SB_ERROR,
    SP_MOCK_FK_SB_NEVER_ALIVE,
    SP_MOCK_FK_SB_VANISH,
    SP_MOCK_FK_SB_DATA_PLANE_DIES,
    SP_MOCK_FK_SB_SERVER_CRASH,
    SP_MOCK_FK__COUNT
};
/* "status", "reset-mid", "sandbox vanish" ... */
const char *sp_mock_fault_kind_name(enum sp_mock_fault_kind k);
/* Checks a spec without a mock (for the CLI). A bad spec is SP_E_CONFIG naming it. */
enum sp_err sp_mock_fault_check(const char *spec, struct sp_error *err);
/* Arms a fault on a running mock; returns its id in *id (NULL ok). */
enum sp_err sp_mock_fault_add(struct sp_mock *m, const char *spec, int *id, struct sp_error *err);
/* Same, active only from start_ms to stop_ms after the mock started (stop_ms < 0: no end). */
enum sp_err sp_mock_fault_add_timed(struct sp_mock *m,
                                    const char *spec,
                                    long start_ms,
                                    long stop_ms,
                                    int *id,
                                    struct sp_error *err);
/* Loads a scenario file:
 *   {"faults": [{"fault": "POST /sandbox 503 p=0.05"},
 *               {"fault": "GET /sandbox/{} reset", "start": "30s", "stop": "60s"}]}
 * start/stop are times after the mock started (a number is seconds). A bad file is
 * SP_E_CONFIG naming the file, the entry and what is wrong; nothing is armed then. */
enum sp_err sp_mock_faults_load(struct sp_mock *m, const char *path, struct sp_error *err);
enum sp_err sp_mock_faults_load_json(
    struct sp_mock *m, const char *json, size_t len, const char *what, struct sp_error *err);
/* Removes one fault by id (false when unknown), or every fault (id < 0). */
bool sp_mock_fault_remove(struct sp_mock *m, int id);
/* Faults of kind k injected so far. */
long sp_mock_fault_count(struct sp_mock *m, enum sp_mock_fault_kind k);

/* How many journalled requests match method (NULL = any) and a path prefix (NULL = any). */
long sp_mock_journal_count(struct sp_mock *m, const char *method, const char *path_prefix);

#endif
