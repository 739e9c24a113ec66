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

/* Faults a test can ask for on the next sandboxes created (see sp_mock_inject). */
enum sp_mock_fault {
    SP_MOCK_FAULT_NONE,
    SP_MOCK_FAULT_STUCK_CREATING, /* never leaves the vendor's creating state */
    SP_MOCK_FAULT_ERROR_STATE,    /* goes to the vendor's error state instead of started */
    SP_MOCK_FAULT_NEVER_ALIVE     /* started, but the data plane never answers */
};

/* Vendor-specific switches. */
#define SP_MOCK_DAYTONA_LIST_CURSOR (1u << 0) /* GET /sandbox answers {items,nextCursor} */

struct sp_mock_config {
    const char *vendor;        /* "daytona", "e2b" */
    const char *host;          /* listen address; NULL = 127.0.0.1 */
    unsigned port;             /* 0 = an ephemeral port */
    const char *key;           /* API key the mock accepts; NULL = a random one */
    uint64_t seed;             /* latency model and ids; 0 = a fixed default */
    struct sp_latency latency; /* used when has_latency; else the vendor-typical defaults */
    bool has_latency;
    const char *root_dir;      /* parent of sandbox workspaces; NULL = $TMPDIR or /tmp */
    unsigned flags;            /* SP_MOCK_* */
    bool quiet;                /* no request log on stderr */
};

struct sp_mock;

/* Starts a mock and returns once it accepts connections. */
enum sp_err sp_mock_start(const struct sp_mock_config *cfg, struct sp_mock **out,
                          struct sp_error *err);
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
    long requests;        /* every request seen */
    long unauthorized;    /* requests refused for a bad or missing key */
    long created;         /* sandboxes created */
    long live;            /* sandboxes not deleted (stopped ones count: they still exist) */
    long running;         /* sandboxes started or running */
};
void sp_mock_stats(struct sp_mock *m, struct sp_mock_stats *out);

/* The next `count` sandboxes created get fault f. */
void sp_mock_inject(struct sp_mock *m, enum sp_mock_fault f, int count);

/* How many journalled requests match method (NULL = any) and a path prefix (NULL = any). */
long sp_mock_journal_count(struct sp_mock *m, const char *method, const char *path_prefix);

#endif
