/* The fault injection of the mock core, inside mocks/: the parsed fault (faults.c), the
 * request and reply hooks the core and the transport call (faults_apply.c) and the admin
 * endpoint (faults_admin.c). mock.h has the grammar and the public API. */
#ifndef SP_FAULTS_INT_H
#define SP_FAULTS_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "mock_int.h"

#define MOCK_FAULTS_MAX 256 /* armed at once; past it an add is refused */

enum { PLANE_ANY, PLANE_API, PLANE_DATA };

struct mock_fault {
    int id;
    char spec[256]; /* as given (trimmed to 255 bytes for listing) */
    bool sandbox;   /* a sandbox fault (else an HTTP fault) */
    enum sp_mock_fault_kind kind;
    char method[8]; /* "*" = any */
    char pattern[256];
    int plane;               /* PLANE_* */
    char vendor[16];         /* "" = any */
    double p;                /* probability */
    long left;               /* injections left; -1 = no limit */
    int status, retry_after; /* STATUS */
    struct sp_dist delay;    /* DELAY */
    bool has_delay;
    size_t size;               /* OVERSIZE */
    long rate;                 /* DRIBBLE, bytes/s */
    int64_t arg_ms;            /* STALL: for; sandbox faults: after; DELAY: the draw */
    int64_t start_ms, stop_ms; /* active window after the mock started; stop < 0: none */
    long injected;
};

struct mock_faults {
    pthread_mutex_t lock; /* after sp_mock.lock and the store lock; nothing is called under it */
    struct mock_fault *v;
    size_t n, cap;
    int next_id;
    uint64_t rng;  /* seeded from the mock's seed: the same seed, the same draws */
    int64_t t0_ms; /* the mock's start, for scenario windows */
    long injected[SP_MOCK_FK__COUNT];
};

/* faults.c */
int mock_fault_parse(const char *spec, struct mock_fault *f, struct sp_error *err);
struct mock_faults *mock_faults_new(uint64_t seed);
void mock_faults_free(struct mock_faults *fs);
/* Returns the new fault's id, or -1 when MOCK_FAULTS_MAX are armed. */
int mock_faults_add(struct mock_faults *fs, const struct mock_fault *f);
bool mock_faults_remove(struct mock_faults *fs, int id);
/* The first HTTP fault that matches r and fires (counted); a DELAY's draw is in out->arg_ms. */
bool mock_faults_pick(struct mock_faults *fs,
                      const struct mock_req *r,
                      bool data_plane,
                      const char *vendor,
                      const char *api_prefix,
                      bool skip_delay,
                      struct mock_fault *out);
/* The first sandbox fault that fires for a new sandbox, with its `after`. */
enum sp_mock_fault
mock_faults_pick_sandbox(struct mock_faults *fs, const char *vendor, int64_t *after_ms);
void mock_faults_count(struct mock_faults *fs, enum sp_mock_fault_kind k);
/* Injections of one kind, or of all (kind < 0). */
long mock_faults_injected(struct mock_faults *fs, int kind);

/* mockcore.c */
struct mock_faults *mock_faults_of(struct sp_mock *m);
const struct mock_vendor *mock_vendor_of(const struct sp_mock *m);
/* Routes r again (after a fault's delay). */
void mock_core_route(struct mock_req *r);

/* faults_admin.c: serves /_sandprobe/faults (true when r was for it). */
bool mock_faults_admin(struct mock_req *r);
/* True when r is for the admin endpoint (its key is checked before the body is read). */
bool mock_faults_is_admin(const struct mock_req *r);

#endif
