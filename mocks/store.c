/* The mock sandbox store: every sandbox of one mock, its vendor-neutral phase and the timed
 * transition in progress, labels and env, its root directory on the host, its action
 * servers, and the seeded latency model. Sandboxes are found by id in a hash table (O(1))
 * and listed in creation order; they are reference counted so a handler can keep using one
 * while another thread deletes it. A sandbox is built completely (root directory included)
 * before it is published, no file or process work happens under the lock, and callers get
 * values copied out under it. A deleted sandbox loses its root directory at once; only a
 * small tombstone stays for vendors whose deleted sandboxes remain readable. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "mock_int.h"
#include "proc_int.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provider.h" /* sp_now_ms */

struct mock_store {
    struct sp_mock *mock;
    /* Guards everything below and the sandboxes' fields the store owns (phase, labels,
     * servers, links, refs). Lock order: a vendor lock -> this lock -> sp_mock.lock -> timer
     * lock; a sandbox's exec_lock is never taken while this one is held (only tried). */
    pthread_mutex_t lock;
    char root[PATH_MAX];
    uint64_t rng;
    struct sp_latency latency;
    struct sp_dist dist[SP_MOCK_PHASE__COUNT];
    struct mock_sandbox **buckets; /* hash by id, power-of-two size */
    size_t n_buckets;
    struct mock_sandbox *first, *last;     /* creation order */
    struct mock_sandbox *t_first, *t_last; /* tombstones, oldest deletion first */
    int64_t tombstone_ms;
    size_t n;
    long created;
};

static uint64_t next_random(uint64_t *state) /* splitmix64 */
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The monotonic ms at which a delay from now is over, rounded up: a transition never ends
 * before its delay (sp_now_ms truncates), at most 1 ms after. */
static int64_t due_ms_after(int64_t delay_us)
{
    return delay_us <= 0 ? sp_now_ms() : (sp_now_us() + delay_us + 999) / 1000;
}

static uint64_t hash_id(const char *id) /* FNV-1a */
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 0x100000001b3ULL;
    return h;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static void remove_tree(const char *path)
{
    if (path[0] != '\0')
        nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

struct mock_store *
mock_store_new(struct sp_mock *m, const char *root_dir, uint64_t seed, const struct sp_latency *lat)
{
    struct mock_store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->n_buckets = 1024;
    s->buckets = calloc(s->n_buckets, sizeof(*s->buckets));
    const char *parent = root_dir ? root_dir : getenv("TMPDIR");
    snprintf(s->root, sizeof(s->root), "%s/sandprobe-mock-XXXXXX", parent ? parent : "/tmp");
    if (s->buckets == NULL || mkdtemp(s->root) == NULL) {
        free(s->buckets);
        free(s);
        return NULL;
    }
    s->mock = m;
    s->rng = seed ? seed : 0x5eedULL;
    s->latency = *lat;
    s->tombstone_ms = MOCK_TOMBSTONE_MS;
    pthread_mutex_init(&s->lock, NULL);
    return s;
}

void mock_store_set_tombstone_ms(struct mock_store *s, int64_t ms)
{
    pthread_mutex_lock(&s->lock);
    s->tombstone_ms = ms;
    pthread_mutex_unlock(&s->lock);
}

void mock_store_set_dists(struct mock_store *s, const struct sp_dist *dist)
{
    memcpy(s->dist, dist, sizeof(s->dist));
}

static void sandbox_destroy(struct mock_store *s, struct mock_sandbox *sb)
{
    mock_shell_free(sb->shell);
    mock_ns_release(sb->root); /* every process of the sandbox, background ones too */
    mock_backend_sandbox_free(sb);
    if (sb->vendor != NULL)
        mock_vendor_sandbox_free(s->mock, sb->vendor);
    if (!sb->reaped)
        remove_tree(sb->root);
    sp_kv_cleanup(&sb->labels);
    sp_kv_cleanup(&sb->env);
    pthread_mutex_destroy(&sb->exec_lock);
    free(sb);
}

void mock_store_free(struct mock_store *s)
{
    if (s == NULL)
        return;
    for (struct mock_sandbox *sb = s->first, *next; sb != NULL; sb = next) {
        next = sb->o_next;
        sandbox_destroy(s, sb); /* handlers are gone: the server stopped first */
    }
    free(s->buckets);
    remove_tree(s->root);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

const char *mock_store_root(const struct mock_store *s)
{
    return s->root;
}

static double uniform01(struct mock_store *s)
{
    return (double)(mock_store_random(s) >> 11) / (double)(1ULL << 53); /* [0,1) */
}

int64_t mock_store_delay_us(struct mock_store *s, enum mock_delay kind)
{
    return mock_latency_draw_us(&s->latency, s->dist, kind, uniform01(s), uniform01(s));
}

long mock_store_delay(struct mock_store *s, enum mock_delay kind)
{
    return (long)(mock_store_delay_us(s, kind) / 1000);
}

uint64_t mock_store_random(struct mock_store *s)
{
    pthread_mutex_lock(&s->lock);
    uint64_t r = next_random(&s->rng);
    pthread_mutex_unlock(&s->lock);
    return r;
}

/* Called with the lock held. */
static int store_grow(struct mock_store *s)
{
    size_t nb = s->n_buckets * 2;
    struct mock_sandbox **b = calloc(nb, sizeof(*b));
    if (b == NULL)
        return -1;
    for (struct mock_sandbox *sb = s->first; sb != NULL; sb = sb->o_next) {
        size_t i = hash_id(sb->id) & (nb - 1);
        sb->h_next = b[i];
        b[i] = sb;
    }
    free(s->buckets);
    s->buckets = b;
    s->n_buckets = nb;
    return 0;
}

/* Called with the lock held. */
static void store_link(struct mock_store *s, struct mock_sandbox *sb)
{
    if (s->n >= s->n_buckets)
        store_grow(s); /* out of memory: longer chains, still correct */
    size_t i = hash_id(sb->id) & (s->n_buckets - 1);
    sb->h_next = s->buckets[i];
    s->buckets[i] = sb;
    sb->o_prev = s->last;
    if (s->last)
        s->last->o_next = sb;
    else
        s->first = sb;
    s->last = sb;
    s->n++;
    s->created++;
}

/* Called with the lock held. */
static void store_unlink(struct mock_store *s, struct mock_sandbox *sb)
{
    struct mock_sandbox **pp = &s->buckets[hash_id(sb->id) & (s->n_buckets - 1)];
    while (*pp != NULL && *pp != sb)
        pp = &(*pp)->h_next;
    if (*pp == NULL)
        return;
    *pp = sb->h_next;
    if (sb->o_prev)
        sb->o_prev->o_next = sb->o_next;
    else
        s->first = sb->o_next;
    if (sb->o_next)
        sb->o_next->o_prev = sb->o_prev;
    else
        s->last = sb->o_prev;
    sb->h_next = sb->o_prev = sb->o_next = NULL;
    s->n--;
}

static int sandbox_make_root(struct mock_store *s, struct mock_sandbox *sb, const char *const *dirs)
{
    if (snprintf(sb->root, sizeof(sb->root), "%s/%s", s->root, sb->id) >= (int)sizeof(sb->root))
        return -1;
    if (s->mock != NULL && mock_backend(s->mock) == SP_MOCK_BACKEND_SYNTHETIC) {
        sb->reaped = true; /* no directory: the synthetic backend keeps files in memory */
        return 0;
    }
    if (mock_mkdir_p(sb->root, 0755) != 0)
        return -1;
    for (size_t i = 0; dirs != NULL && dirs[i] != NULL; i++) {
        char host[PATH_MAX];
        if (mock_sandbox_host_path(sb, "/", dirs[i], host, sizeof(host)) != 0 ||
            mock_mkdir_p(host, 0755))
            return -1;
    }
    return 0;
}

static void store_unlink(struct mock_store *s, struct mock_sandbox *sb);

/* Called with the lock held: takes the expired tombstones out of the store (hash, order and
 * queue) and returns them chained by t_next; the caller drops the store's references. */
static struct mock_sandbox *expire_tombstones(struct mock_store *s)
{
    struct mock_sandbox *out = NULL;
    int64_t now = sp_now_ms();
    while (s->t_first != NULL && now - s->t_first->deleted_ms >= s->tombstone_ms) {
        struct mock_sandbox *sb = s->t_first;
        s->t_first = sb->t_next;
        if (s->t_first == NULL)
            s->t_last = NULL;
        store_unlink(s, sb); /* no-op when already removed */
        sb->t_next = out;
        out = sb;
    }
    return out;
}

struct mock_sandbox *mock_store_create(struct mock_store *s,
                                       const char *id,
                                       const char *const *dirs,
                                       enum mock_phase phase,
                                       enum mock_phase next,
                                       enum mock_delay delay)
{
    struct mock_sandbox *sb = calloc(1, sizeof(*sb));
    if (sb == NULL)
        return NULL;
    snprintf(sb->id, sizeof(sb->id), "%s", id);
    sp_kv_init(&sb->labels);
    sp_kv_init(&sb->env);
    pthread_mutex_init(&sb->exec_lock, NULL);
    sb->created_wall_ms = sb->updated_wall_ms = mock_wall_ms();
    sb->fault = s->mock ? mock_take_fault(s->mock, &sb->fault_at_ms) : SP_MOCK_FAULT_NONE;
    if (sandbox_make_root(s, sb, dirs) != 0) {
        sandbox_destroy(s, sb);
        return NULL;
    }
    sb->refs = 2; /* the store's and the caller's */
    sb->phase = phase;
    if (phase != next && sb->fault != SP_MOCK_FAULT_STUCK_CREATING) {
        sb->next = sb->fault == SP_MOCK_FAULT_ERROR_STATE ? MOCK_FAILED : next;
        sb->until_ms = due_ms_after(mock_store_delay_us(s, delay));
        if (sb->fault == SP_MOCK_FAULT_ERROR_STATE)
            snprintf(sb->error_reason, sizeof(sb->error_reason),
                     "injected fault: sandbox failed to start");
    }
    pthread_mutex_lock(&s->lock);
    store_link(s, sb); /* published only now, fully built */
    struct mock_sandbox *gone = expire_tombstones(s);
    pthread_mutex_unlock(&s->lock);
    while (gone != NULL) {
        struct mock_sandbox *after = gone->t_next;
        mock_store_put(s, gone); /* the store's reference */
        gone = after;
    }
    if (s->mock != NULL)
        mock_faults_sandbox_created(s->mock, sb); /* a vanish is a timer from now */
    return sb;
}

struct mock_sandbox *mock_store_get(struct mock_store *s, const char *id)
{
    pthread_mutex_lock(&s->lock);
    struct mock_sandbox *found = s->buckets[hash_id(id) & (s->n_buckets - 1)];
    while (found != NULL && strcmp(found->id, id) != 0)
        found = found->h_next;
    if (found != NULL)
        found->refs++;
    pthread_mutex_unlock(&s->lock);
    return found;
}

void mock_store_put(struct mock_store *s, struct mock_sandbox *sb)
{
    if (sb == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    int refs = --sb->refs;
    pthread_mutex_unlock(&s->lock);
    if (refs == 0)
        sandbox_destroy(s, sb);
}

/* Called with the lock held: applies a transition that is due. */
static void settle(struct mock_sandbox *sb)
{
    if (sb->until_ms != 0 && sp_now_ms() >= sb->until_ms) {
        sb->phase = sb->next;
        sb->until_ms = 0;
        sb->updated_wall_ms = mock_wall_ms();
    }
}

/* A deleted sandbox keeps no processes: its shell goes as soon as no command is running. */
static void reap_if_deleted(struct mock_sandbox *sb)
{
    if (sb->phase != MOCK_DELETED)
        return;
    mock_ns_release(sb->root); /* every process of the sandbox, background ones too */
    if (sb->shell == NULL)
        return;
    if (pthread_mutex_trylock(&sb->exec_lock) == 0) {
        mock_shell_free(sb->shell);
        sb->shell = NULL;
        pthread_mutex_unlock(&sb->exec_lock);
    }
}

enum mock_phase mock_sandbox_phase(struct mock_store *s, struct mock_sandbox *sb)
{
    pthread_mutex_lock(&s->lock);
    settle(sb);
    enum mock_phase p = sb->phase;
    pthread_mutex_unlock(&s->lock);
    if (p == MOCK_DELETED)
        reap_if_deleted(sb);
    return p;
}

int64_t
mock_sandbox_leaves_at(struct mock_store *s, struct mock_sandbox *sb, enum mock_phase transient)
{
    pthread_mutex_lock(&s->lock);
    settle(sb);
    int64_t at = sb->phase != transient ? 0 : sb->until_ms != 0 ? sb->until_ms : -1;
    pthread_mutex_unlock(&s->lock);
    return at;
}

/* A sandbox being deleted loses its files now (its tombstone may stay readable); the caller
 * does not hold the lock, and `claimed` says this thread won the right to remove them. */
static void reap_root(struct mock_sandbox *sb, bool claimed)
{
    if (claimed) {
        mock_ns_release(sb->root); /* its processes go with it, background ones too */
        remove_tree(sb->root);
    }
}

void mock_sandbox_transition(struct mock_store *s,
                             struct mock_sandbox *sb,
                             enum mock_phase via,
                             enum mock_phase to,
                             enum mock_delay delay)
{
    int64_t d = via == to ? 0 : mock_store_delay_us(s, delay);
    bool reap = false;
    pthread_mutex_lock(&s->lock);
    sb->phase = via;
    sb->next = to;
    sb->until_ms = via == to ? 0 : due_ms_after(d);
    sb->updated_wall_ms = mock_wall_ms();
    if (via == MOCK_DELETING || via == MOCK_DELETED || via == MOCK_STOPPING) {
        sb->n_servers = 0; /* the action server dies with its sandbox */
    }
    if ((via == MOCK_DELETING || via == MOCK_DELETED) && !sb->reaped)
        reap = sb->reaped = true;
    if ((via == MOCK_DELETING || via == MOCK_DELETED) && sb->deleted_ms == 0) {
        sb->deleted_ms = sp_now_ms(); /* queued: forgotten tombstone_ms from now */
        if (s->t_last)
            s->t_last->t_next = sb;
        else
            s->t_first = sb;
        s->t_last = sb;
    }
    pthread_mutex_unlock(&s->lock);
    reap_root(sb, reap);
}

void mock_store_remove(struct mock_store *s, struct mock_sandbox *sb)
{
    bool dropped = false, reap = false;
    pthread_mutex_lock(&s->lock);
    struct mock_sandbox *found = s->buckets[hash_id(sb->id) & (s->n_buckets - 1)];
    while (found != NULL && found != sb)
        found = found->h_next;
    if (found != NULL) {
        store_unlink(s, sb);
        sb->phase = MOCK_DELETED;
        sb->until_ms = 0;
        sb->n_servers = 0;
        reap = !sb->reaped;
        sb->reaped = true;
        dropped = true;
        if (sb->deleted_ms != 0) { /* out of the tombstone queue too (rare: E2B never queues) */
            struct mock_sandbox **pp = &s->t_first, *prev = NULL;
            while (*pp != NULL && *pp != sb)
                prev = *pp, pp = &(*pp)->t_next;
            if (*pp == sb) {
                *pp = sb->t_next;
                if (s->t_last == sb)
                    s->t_last = prev;
            }
        }
    }
    pthread_mutex_unlock(&s->lock);
    reap_root(sb, reap); /* now, though a handler may still hold a reference */
    if (dropped)
        mock_store_put(s, sb); /* the store's reference */
}

void mock_store_each(struct mock_store *s,
                     bool (*fn)(struct mock_sandbox *sb, void *user),
                     void *user)
{
    pthread_mutex_lock(&s->lock);
    size_t n = s->n;
    struct mock_sandbox **snap = n ? malloc(n * sizeof(*snap)) : NULL;
    size_t i = 0;
    for (struct mock_sandbox *sb = s->first; snap != NULL && sb != NULL; sb = sb->o_next) {
        snap[i++] = sb;
        sb->refs++;
    }
    pthread_mutex_unlock(&s->lock);
    if (snap == NULL)
        return;
    bool go = true;
    for (i = 0; i < n; i++) {
        if (go)
            go = fn(snap[i], user);
        mock_store_put(s, snap[i]);
    }
    free(snap);
}

void mock_sandbox_set_labels(struct mock_store *s,
                             struct mock_sandbox *sb,
                             const struct sp_kv *labels)
{
    pthread_mutex_lock(&s->lock);
    sp_kv_clear(&sb->labels);
    sp_kv_merge(&sb->labels, labels);
    pthread_mutex_unlock(&s->lock);
}

bool mock_sandbox_has_labels(struct mock_store *s,
                             struct mock_sandbox *sb,
                             const struct sp_kv *want)
{
    pthread_mutex_lock(&s->lock);
    bool yes = sp_kv_contains(&sb->labels, want);
    pthread_mutex_unlock(&s->lock);
    return yes;
}

void mock_sandbox_copy_labels(struct mock_store *s, struct mock_sandbox *sb, struct sp_kv *out)
{
    pthread_mutex_lock(&s->lock);
    sp_kv_merge(out, &sb->labels);
    pthread_mutex_unlock(&s->lock);
}

void mock_store_stats(struct mock_store *s, struct sp_mock_stats *out)
{
    pthread_mutex_lock(&s->lock);
    out->created = s->created;
    for (struct mock_sandbox *sb = s->first; sb != NULL; sb = sb->o_next) {
        settle(sb);
        out->live += sb->phase != MOCK_DELETED;
        out->running += sb->phase == MOCK_RUNNING;
    }
    pthread_mutex_unlock(&s->lock);
}

/* --- paths -------------------------------------------------------------------------------- */

/* Appends the segments of path to the normalised sandbox path in out (".." stops at "/"). */
static int normalise_into(char *out, size_t outlen, const char *path)
{
    size_t len = strlen(out);
    while (*path) {
        size_t seg = strcspn(path, "/");
        if (seg == 2 && path[0] == '.' && path[1] == '.') {
            while (len > 0 && out[len - 1] != '/')
                len--;
            if (len > 1)
                len--; /* the slash before the dropped segment */
            out[len] = '\0';
        } else if (seg > 0 && !(seg == 1 && path[0] == '.')) {
            if (len + 1 + seg >= outlen)
                return -1;
            if (len > 1 || out[0] != '/')
                out[len++] = '/';
            memcpy(out + len, path, seg);
            len += seg;
            out[len] = '\0';
        }
        path += seg;
        while (*path == '/')
            path++;
    }
    return 0;
}

int mock_sandbox_host_path(
    const struct mock_sandbox *sb, const char *cwd, const char *path, char *out, size_t outlen)
{
    char guest[PATH_MAX] = "/";
    if (path == NULL)
        return -1;
    if (path[0] != '/' && normalise_into(guest, sizeof(guest), cwd ? cwd : "/") != 0)
        return -1;
    if (normalise_into(guest, sizeof(guest), path) != 0)
        return -1;
    const char *tail = strcmp(guest, "/") == 0 ? "" : guest;
    return snprintf(out, outlen, "%s%s", sb->root, tail) >= (int)outlen ? -1 : 0;
}

void mock_sandbox_guest_path(const struct mock_sandbox *sb,
                             const char *host,
                             char *out,
                             size_t outlen)
{
    size_t rl = strlen(sb->root);
    const char *rest = strncmp(host, sb->root, rl) == 0 ? host + rl : host;
    snprintf(out, outlen, "%s", rest[0] == '\0' ? "/" : rest);
}

/* --- action servers ----------------------------------------------------------------------- */

void mock_sandbox_add_server(struct mock_store *s,
                             struct mock_sandbox *sb,
                             unsigned port,
                             const char *workdir)
{
    int64_t ready = due_ms_after(mock_store_delay_us(s, MOCK_DELAY_SERVER));
    pthread_mutex_lock(&s->lock);
    int slot = 0;
    while (slot < sb->n_servers && sb->servers[slot].port != port)
        slot++;
    if (slot < MOCK_MAX_SERVERS) {
        struct mock_server *srv = &sb->servers[slot];
        srv->port = port;
        srv->ready_ms = sb->fault == SP_MOCK_FAULT_NEVER_ALIVE ? 0 : ready;
        snprintf(srv->workdir, sizeof(srv->workdir), "%s", workdir ? workdir : "/workspace");
        if (slot == sb->n_servers)
            sb->n_servers++;
    }
    pthread_mutex_unlock(&s->lock);
}

const struct mock_server *
mock_sandbox_server(struct mock_store *s, struct mock_sandbox *sb, unsigned port, bool *ready)
{
    const struct mock_server *found = NULL;
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < sb->n_servers && found == NULL; i++)
        if (sb->servers[i].port == port)
            found = &sb->servers[i];
    *ready = found != NULL && found->ready_ms != 0 && sp_now_ms() >= found->ready_ms &&
             !mock_faults_server_down(sb, false);
    pthread_mutex_unlock(&s->lock);
    return found;
}

bool mock_sandbox_server_copy(struct mock_store *s,
                              struct mock_sandbox *sb,
                              unsigned port,
                              struct mock_server *out,
                              bool *ready)
{
    bool found = false;
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < sb->n_servers && !found; i++) {
        if (sb->servers[i].port == port) {
            *out = sb->servers[i];
            found = true;
        }
    }
    *ready = found && out->ready_ms != 0 && sp_now_ms() >= out->ready_ms &&
             !mock_faults_server_down(sb, false);
    pthread_mutex_unlock(&s->lock);
    return found;
}
