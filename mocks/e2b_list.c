/* The E2B mock's listings (spec/e2b-modal.md A2): the deprecated GET /sandboxes (running
 * sandboxes, metadata filter) and GET /v2/sandboxes (metadata, state, template, startedAfter,
 * order, limit and an opaque nextToken answered in the X-Next-Token header), plus the JSON
 * bodies of a sandbox: Sandbox (create, connect), ListedSandbox and SandboxDetail. */
#include "e2b_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define E2B_LIST_MAX 100 /* paginationLimit: 1..100, default 100 */

/* The resources every sandbox of the mock reports (the base template's defaults). */
#define E2B_CPU_COUNT 2
#define E2B_MEMORY_MB 512
#define E2B_DISK_MB   10240

struct listed {
    struct mock_sandbox *sb; /* referenced */
    struct e2b_sandbox snap;
    bool running;
};

struct list_query {
    struct sp_kv metadata;
    bool want_running, want_paused;
    const char *template;
    const char *started_after; /* "2025-07-18T10:00:00.000Z", compared as text */
    bool ascending;
    long limit;
    uint64_t cursor; /* creation sequence of the last item of the previous page; 0 = none */
};

/* --- JSON edge --------------------------------------------------------------------------- */

cJSON *e2b_build_sandbox(const struct mock_sandbox *sb, const struct e2b_sandbox *es)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    cJSON_AddStringToObject(o, "templateID", es->template_id);
    if (es->alias[0])
        cJSON_AddStringToObject(o, "alias", es->alias);
    cJSON_AddStringToObject(o, "sandboxID", sb->id);
    cJSON_AddStringToObject(o, "clientID", E2B_CLIENT_ID);
    cJSON_AddStringToObject(o, "envdVersion", E2B_ENVD_VERSION);
    if (es->token[0])
        cJSON_AddStringToObject(o, "envdAccessToken", es->token);
    cJSON_AddNullToObject(o, "trafficAccessToken");
    cJSON_AddNullToObject(o, "domain");
    return o;
}

cJSON *e2b_build_listed(struct sp_mock *m,
                        struct mock_sandbox *sb,
                        const struct e2b_sandbox *es,
                        bool detail)
{
    char started[40], end[40];
    mock_format_time(es->started_wall_ms, true, started, sizeof started);
    mock_format_time(es->end_wall_ms, true, end, sizeof end);
    enum mock_phase p = mock_sandbox_phase(mock_store_of(m), sb);
    struct sp_kv labels;
    sp_kv_init(&labels);
    mock_sandbox_copy_labels(mock_store_of(m), sb, &labels);
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        goto done;
    cJSON_AddStringToObject(o, "templateID", es->template_id);
    if (es->alias[0])
        cJSON_AddStringToObject(o, "alias", es->alias);
    cJSON_AddStringToObject(o, "sandboxID", sb->id);
    cJSON_AddStringToObject(o, "clientID", E2B_CLIENT_ID);
    cJSON_AddStringToObject(o, "startedAt", started);
    cJSON_AddStringToObject(o, "endAt", end);
    cJSON_AddNumberToObject(o, "cpuCount", E2B_CPU_COUNT);
    cJSON_AddNumberToObject(o, "memoryMB", E2B_MEMORY_MB);
    cJSON_AddNumberToObject(o, "diskSizeMB", E2B_DISK_MB);
    cJSON_AddItemToObject(o, "metadata", sp_json_from_kv(&labels));
    cJSON_AddStringToObject(o, "state", mock_vendor_e2b.phase_name(p));
    cJSON_AddStringToObject(o, "envdVersion", E2B_ENVD_VERSION);
    if (detail) {
        if (es->token[0])
            cJSON_AddStringToObject(o, "envdAccessToken", es->token);
        cJSON_AddNullToObject(o, "domain");
        if (es->allow_internet >= 0)
            cJSON_AddBoolToObject(o, "allowInternetAccess", es->allow_internet);
        cJSON *life = cJSON_AddObjectToObject(o, "lifecycle");
        cJSON_AddBoolToObject(life, "autoResume", 0);
        cJSON_AddStringToObject(life, "onTimeout", es->auto_pause ? "pause" : "kill");
    }
done:
    sp_kv_cleanup(&labels);
    return o;
}

/* --- query parsing ------------------------------------------------------------------------ */

/* Percent-decodes n bytes (and '+' as a space when form is set). -1 on a bad escape. */
static int url_decode(const char *in, size_t n, bool form, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c == '%') {
            int hi = i + 2 < n ? sp_hex_digit(in[i + 1]) : -1;
            int lo = hi >= 0 ? sp_hex_digit(in[i + 2]) : -1;
            if (lo < 0)
                return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && form) {
            c = ' ';
        }
        if (o + 1 >= outlen)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

/* The metadata filter is one query value holding "k=v&k2=v2" whose keys and values the SDKs
 * URL-encode once more before the query string is built, so each is decoded twice. */
static int parse_metadata_filter(const char *q, struct sp_kv *out)
{
    while (q && *q) {
        size_t n = strcspn(q, "&");
        const char *eq = memchr(q, '=', n);
        char k1[256], v1[512], k2[256], v2[512];
        if (eq == NULL || url_decode(q, (size_t)(eq - q), true, k1, sizeof k1) != 0 ||
            url_decode(eq + 1, n - (size_t)(eq - q) - 1, true, v1, sizeof v1) != 0 ||
            url_decode(k1, strlen(k1), false, k2, sizeof k2) != 0 ||
            url_decode(v1, strlen(v1), false, v2, sizeof v2) != 0 || k2[0] == '\0')
            return -1;
        if (sp_kv_set(out, k2, v2) != 0)
            return -1;
        q += n;
        if (*q == '&')
            q++;
    }
    return 0;
}

static int parse_states(const char *q, struct list_query *lq)
{
    lq->want_running = lq->want_paused = q == NULL;
    while (q && *q) {
        size_t n = strcspn(q, ",");
        if (n == 7 && strncmp(q, "running", 7) == 0)
            lq->want_running = true;
        else if (n == 6 && strncmp(q, "paused", 6) == 0)
            lq->want_paused = true;
        else
            return -1;
        q += n;
        if (*q == ',')
            q++;
    }
    return 0;
}

/* nextToken is opaque to clients: base64 of "seq:<creation sequence>". */
static int parse_cursor(const char *token, struct list_query *lq)
{
    lq->cursor = 0;
    if (token == NULL || token[0] == '\0')
        return 0;
    struct sp_buf raw;
    sp_buf_init(&raw, 64);
    char *end = NULL;
    int rc = sp_base64_decode(token, strlen(token), &raw);
    const char *text = sp_buf_str(&raw);
    if (rc == 0 && strncmp(text, "seq:", 4) == 0)
        lq->cursor = strtoull(text + 4, &end, 10);
    if (lq->cursor == 0 || end == NULL || *end != '\0')
        rc = -1;
    sp_buf_cleanup(&raw);
    return rc;
}

/* Fills lq from the query; replies 400 and returns -1 on a bad parameter. */
static int parse_list_query(struct mock_req *r, struct list_query *lq)
{
    const char *limit = mock_req_query(r, "limit");
    const char *order = mock_req_query(r, "order");
    char *end = NULL;
    lq->limit = limit ? strtol(limit, &end, 10) : E2B_LIST_MAX;
    lq->template = mock_req_query(r, "template");
    lq->started_after = mock_req_query(r, "startedAfter");
    lq->ascending = order && strcmp(order, "asc") == 0;
    if (parse_metadata_filter(mock_req_query(r, "metadata"), &lq->metadata) != 0)
        e2b_reply_error(r, 400, "Error when parsing metadata: invalid metadata query");
    else if (parse_states(mock_req_query(r, "state"), lq) != 0)
        e2b_reply_error(r, 400, "Error when parsing state: invalid state");
    else if (limit && (end == limit || *end || lq->limit < 1 || lq->limit > E2B_LIST_MAX))
        e2b_reply_error(r, 400, "limit must be between 1 and %d", E2B_LIST_MAX);
    else if (order && !lq->ascending && strcmp(order, "desc") != 0)
        e2b_reply_error(r, 400, "order must be asc or desc");
    else if (lq->started_after && strlen(lq->started_after) != 24)
        e2b_reply_error(r, 400, "startedAfter must be an RFC 3339 UTC time with milliseconds");
    else if (parse_cursor(mock_req_query(r, "nextToken"), lq) != 0)
        e2b_reply_error(r, 400, "Invalid next token");
    else
        return 0;
    return -1;
}

/* --- collecting, ordering, paging --------------------------------------------------------- */

struct collect {
    struct sp_kv ids; /* keys only: the store may hold its lock while calling us */
};

static bool collect_id(struct mock_sandbox *sb, void *user)
{
    struct collect *c = user;
    sp_kv_add(&c->ids, sb->id, "");
    return true;
}

static bool matches(struct sp_mock *m, struct listed *l, const struct list_query *lq)
{
    if (l->running ? !lq->want_running : !lq->want_paused)
        return false;
    if (lq->template && strcmp(lq->template, l->snap.template_id) != 0 &&
        strcmp(lq->template, l->snap.alias) != 0)
        return false;
    if (lq->started_after) {
        char started[40];
        mock_format_time(l->snap.started_wall_ms, true, started, sizeof started);
        if (strcmp(started, lq->started_after) < 0)
            return false;
    }
    return lq->metadata.n == 0 || mock_sandbox_has_labels(mock_store_of(m), l->sb, &lq->metadata);
}

/* Every sandbox that passes lq, referenced; *n set. Expired sandboxes are killed on the way. */
static struct listed *collect_matching(struct sp_mock *m, const struct list_query *lq, size_t *n)
{
    struct collect c;
    sp_kv_init(&c.ids);
    mock_store_each(mock_store_of(m), collect_id, &c);
    struct listed *out = calloc(c.ids.n + 1, sizeof *out);
    *n = 0;
    for (size_t i = 0; out && i < c.ids.n; i++) {
        struct listed *l = &out[*n];
        l->sb = e2b_find(m, c.ids.items[i].key);
        if (l->sb == NULL)
            continue;
        enum mock_phase p = mock_sandbox_phase(mock_store_of(m), l->sb);
        l->running = p == MOCK_CREATING || p == MOCK_STARTING || p == MOCK_RUNNING;
        if (e2b_snapshot(m, l->sb, &l->snap) && matches(m, l, lq))
            (*n)++;
        else
            mock_store_put(mock_store_of(m), l->sb);
    }
    sp_kv_cleanup(&c.ids);
    return out;
}

/* Newest first, as the API orders by start time by default; creation order breaks the ties
 * of sandboxes started in the same millisecond. */
static int cmp_desc(const void *a, const void *b)
{
    const struct listed *x = a, *y = b;
    return x->snap.seq < y->snap.seq ? 1 : x->snap.seq > y->snap.seq ? -1 : 0;
}

static int cmp_asc(const void *a, const void *b)
{
    return cmp_desc(b, a);
}

/* True when l comes after the cursor in the listing's order. */
static bool after_cursor(const struct listed *l, const struct list_query *lq)
{
    return lq->ascending ? l->snap.seq > lq->cursor : l->snap.seq < lq->cursor;
}

static void
reply_page(struct mock_req *r, struct listed *all, size_t n, const struct list_query *lq)
{
    size_t first = 0, running = 0;
    for (size_t i = 0; i < n; i++)
        running += all[i].running;
    while (lq->cursor && first < n && !after_cursor(&all[first], lq))
        first++;
    size_t count = n - first < (size_t)lq->limit ? n - first : (size_t)lq->limit;
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = first; arr && i < first + count; i++)
        cJSON_AddItemToArray(arr, e2b_build_listed(r->mock, all[i].sb, &all[i].snap, false));
    if (first + count < n) {
        char cur[32];
        struct sp_buf tok;
        sp_buf_init(&tok, 0);
        snprintf(cur, sizeof cur, "seq:%llu", (unsigned long long)all[first + count - 1].snap.seq);
        sp_buf_put_base64(&tok, cur, strlen(cur));
        mock_reply_header(r, "X-Next-Token", sp_buf_str(&tok));
        sp_buf_cleanup(&tok);
    }
    if (lq->want_running) {
        char num[32];
        snprintf(num, sizeof num, "%zu", running);
        mock_reply_header(r, "X-Total-Running", num);
    }
    mock_reply_cjson(r, 200, arr);
}

static void list_sandboxes(struct mock_req *r, bool v2)
{
    struct list_query lq = {0};
    sp_kv_init(&lq.metadata);
    e2b_sweep(r->mock);
    if (parse_list_query(r, &lq) == 0) {
        if (!v2) { /* the deprecated list: running sandboxes, metadata filter only */
            lq.want_running = true, lq.want_paused = false;
            lq.template = lq.started_after = NULL;
            lq.limit = INT32_MAX, lq.cursor = 0;
        }
        size_t n = 0;
        struct listed *all = collect_matching(r->mock, &lq, &n);
        if (all == NULL) {
            e2b_reply_error(r, 500, "out of memory");
        } else {
            qsort(all, n, sizeof *all, lq.ascending || !v2 ? cmp_asc : cmp_desc);
            reply_page(r, all, n, &lq);
        }
        for (size_t i = 0; i < n; i++)
            mock_store_put(mock_store_of(r->mock), all[i].sb);
        free(all);
    }
    sp_kv_cleanup(&lq.metadata);
}

void e2b_list_v1(struct mock_req *r)
{
    list_sandboxes(r, false);
}

void e2b_list_v2(struct mock_req *r)
{
    list_sandboxes(r, true);
}
