/* The mock sandbox store: every sandbox of one mock, its vendor-neutral phase and the timed
 * transition in progress, labels and env, its root directory on the host, its action
 * servers, and the seeded latency model. One lock guards it all; sandboxes are reference
 * counted so a handler can keep using one while another thread deletes it. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "mock_int.h"
#include "proc_int.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provider.h" /* sp_now_ms */

struct mock_store {
    struct sp_mock *mock;
    pthread_mutex_t lock;
    char root[PATH_MAX];
    uint64_t rng;
    struct sp_latency latency;
    struct mock_sandbox **items; /* creation order */
    size_t n, cap;
    long created;
};

static uint64_t next_random(uint64_t *state) /* splitmix64 */
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
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

struct mock_store *mock_store_new(struct sp_mock *m, const char *root_dir, uint64_t seed,
                                  const struct sp_latency *lat)
{
    struct mock_store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    const char *parent = root_dir ? root_dir : getenv("TMPDIR");
    snprintf(s->root, sizeof(s->root), "%s/sandprobe-mock-XXXXXX", parent ? parent : "/tmp");
    if (mkdtemp(s->root) == NULL) {
        free(s);
        return NULL;
    }
    s->mock = m;
    s->rng = seed ? seed : 0x5eedULL;
    s->latency = *lat;
    pthread_mutex_init(&s->lock, NULL);
    return s;
}

static void sandbox_destroy(struct mock_store *s, struct mock_sandbox *sb)
{
    mock_shell_free(sb->shell);
    mock_ns_release(sb->root); /* every process of the sandbox, background ones too */
    if (sb->vendor != NULL)
        mock_vendor_sandbox_free(s->mock, sb->vendor);
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
    for (size_t i = 0; i < s->n; i++)
        sandbox_destroy(s, s->items[i]); /* handlers are gone: the daemon stopped first */
    free(s->items);
    remove_tree(s->root);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

const char *mock_store_root(const struct mock_store *s)
{
    return s->root;
}

long mock_store_delay(struct mock_store *s, enum mock_delay kind)
{
    const struct sp_latency *l = &s->latency;
    long base = kind == MOCK_DELAY_CREATE   ? l->create_ms
                : kind == MOCK_DELAY_START  ? l->start_ms
                : kind == MOCK_DELAY_STOP   ? l->stop_ms
                : kind == MOCK_DELAY_DELETE ? l->delete_ms
                                            : l->server_ms;
    double u = (double)(mock_store_random(s) >> 11) / (double)(1ULL << 53); /* [0,1) */
    double d = (double)base * (1.0 + l->jitter * (2.0 * u - 1.0));
    return d < 0 ? 0 : (long)d;
}

uint64_t mock_store_random(struct mock_store *s)
{
    pthread_mutex_lock(&s->lock);
    uint64_t r = next_random(&s->rng);
    pthread_mutex_unlock(&s->lock);
    return r;
}

static int store_append(struct mock_store *s, struct mock_sandbox *sb)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct mock_sandbox **items = realloc(s->items, cap * sizeof(*items));
        if (items == NULL)
            return -1;
        s->items = items;
        s->cap = cap;
    }
    s->items[s->n++] = sb;
    s->created++;
    return 0;
}

static int sandbox_make_root(struct mock_store *s, struct mock_sandbox *sb,
                             const char *const *dirs)
{
    if (snprintf(sb->root, sizeof(sb->root), "%s/%s", s->root, sb->id) >= (int)sizeof(sb->root))
        return -1;
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

struct mock_sandbox *mock_store_create(struct mock_store *s, const char *id,
                                       const char *const *dirs, enum mock_phase phase,
                                       enum mock_phase next, enum mock_delay delay)
{
    struct mock_sandbox *sb = calloc(1, sizeof(*sb));
    if (sb == NULL)
        return NULL;
    snprintf(sb->id, sizeof(sb->id), "%s", id);
    sp_kv_init(&sb->labels);
    sp_kv_init(&sb->env);
    pthread_mutex_init(&sb->exec_lock, NULL);
    sb->created_wall_ms = sb->updated_wall_ms = mock_wall_ms();
    sb->fault = mock_take_fault(s->mock);
    if (sandbox_make_root(s, sb, dirs) != 0) {
        sandbox_destroy(s, sb);
        return NULL;
    }
    sb->refs = 2; /* the store's and the caller's */
    sb->phase = phase;
    if (phase != next && sb->fault != SP_MOCK_FAULT_STUCK_CREATING) {
        sb->next = sb->fault == SP_MOCK_FAULT_ERROR_STATE ? MOCK_FAILED : next;
        sb->until_ms = sp_now_ms() + mock_store_delay(s, delay);
        if (sb->fault == SP_MOCK_FAULT_ERROR_STATE)
            snprintf(sb->error_reason, sizeof(sb->error_reason),
                     "injected fault: sandbox failed to start");
    }
    pthread_mutex_lock(&s->lock);
    int rc = store_append(s, sb);
    pthread_mutex_unlock(&s->lock);
    if (rc != 0) {
        sandbox_destroy(s, sb);
        return NULL;
    }
    return sb;
}

struct mock_sandbox *mock_store_get(struct mock_store *s, const char *id)
{
    struct mock_sandbox *found = NULL;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->n && found == NULL; i++)
        if (strcmp(s->items[i]->id, id) == 0)
            found = s->items[i];
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

void mock_sandbox_transition(struct mock_store *s, struct mock_sandbox *sb, enum mock_phase via,
                             enum mock_phase to, enum mock_delay delay)
{
    long d = via == to ? 0 : mock_store_delay(s, delay);
    pthread_mutex_lock(&s->lock);
    sb->phase = via;
    sb->next = to;
    sb->until_ms = via == to ? 0 : sp_now_ms() + d;
    sb->updated_wall_ms = mock_wall_ms();
    if (via == MOCK_DELETING || via == MOCK_DELETED || via == MOCK_STOPPING) {
        sb->n_servers = 0; /* the action server dies with its sandbox */
    }
    pthread_mutex_unlock(&s->lock);
}

void mock_store_remove(struct mock_store *s, struct mock_sandbox *sb)
{
    bool dropped = false;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->n; i++) {
        if (s->items[i] != sb)
            continue;
        memmove(&s->items[i], &s->items[i + 1], (s->n - i - 1) * sizeof(s->items[0]));
        s->n--;
        sb->phase = MOCK_DELETED;
        sb->until_ms = 0;
        dropped = true;
        break;
    }
    pthread_mutex_unlock(&s->lock);
    if (dropped)
        mock_store_put(s, sb); /* the store's reference */
}

void mock_store_each(struct mock_store *s, bool (*fn)(struct mock_sandbox *sb, void *user),
                     void *user)
{
    pthread_mutex_lock(&s->lock);
    size_t n = s->n;
    struct mock_sandbox **snap = n ? malloc(n * sizeof(*snap)) : NULL;
    for (size_t i = 0; snap != NULL && i < n; i++) {
        snap[i] = s->items[i];
        snap[i]->refs++;
    }
    pthread_mutex_unlock(&s->lock);
    if (snap == NULL)
        return;
    bool go = true;
    for (size_t i = 0; i < n; i++) {
        if (go)
            go = fn(snap[i], user);
        mock_store_put(s, snap[i]);
    }
    free(snap);
}

void mock_sandbox_set_labels(struct mock_store *s, struct mock_sandbox *sb,
                             const struct sp_kv *labels)
{
    pthread_mutex_lock(&s->lock);
    sp_kv_clear(&sb->labels);
    sp_kv_merge(&sb->labels, labels);
    pthread_mutex_unlock(&s->lock);
}

bool mock_sandbox_has_labels(struct mock_store *s, struct mock_sandbox *sb,
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
    for (size_t i = 0; i < s->n; i++) {
        settle(s->items[i]);
        enum mock_phase p = s->items[i]->phase;
        out->live += p != MOCK_DELETED;
        out->running += p == MOCK_RUNNING;
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

int mock_sandbox_host_path(const struct mock_sandbox *sb, const char *cwd, const char *path,
                           char *out, size_t outlen)
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

void mock_sandbox_guest_path(const struct mock_sandbox *sb, const char *host, char *out,
                             size_t outlen)
{
    size_t rl = strlen(sb->root);
    const char *rest = strncmp(host, sb->root, rl) == 0 ? host + rl : host;
    snprintf(out, outlen, "%s", rest[0] == '\0' ? "/" : rest);
}

/* --- action servers ----------------------------------------------------------------------- */

void mock_sandbox_add_server(struct mock_store *s, struct mock_sandbox *sb, unsigned port,
                             const char *workdir)
{
    long delay = mock_store_delay(s, MOCK_DELAY_SERVER);
    pthread_mutex_lock(&s->lock);
    int slot = 0;
    while (slot < sb->n_servers && sb->servers[slot].port != port)
        slot++;
    if (slot < MOCK_MAX_SERVERS) {
        struct mock_server *srv = &sb->servers[slot];
        srv->port = port;
        srv->ready_ms = sb->fault == SP_MOCK_FAULT_NEVER_ALIVE ? 0 : sp_now_ms() + delay;
        snprintf(srv->workdir, sizeof(srv->workdir), "%s", workdir ? workdir : "/workspace");
        if (slot == sb->n_servers)
            sb->n_servers++;
    }
    pthread_mutex_unlock(&s->lock);
}

const struct mock_server *mock_sandbox_server(struct mock_store *s, struct mock_sandbox *sb,
                                              unsigned port, bool *ready)
{
    const struct mock_server *found = NULL;
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < sb->n_servers && found == NULL; i++)
        if (sb->servers[i].port == port)
            found = &sb->servers[i];
    *ready = found != NULL && found->ready_ms != 0 && sp_now_ms() >= found->ready_ms;
    pthread_mutex_unlock(&s->lock);
    return found;
}
