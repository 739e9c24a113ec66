/* Fuzz target: multipart/form-data in both directions. The mock's reader
 * (mocks/multipart.c) gets an arbitrary Content-Type and body; then the client's writer
 * (providers/http.c) builds a body from the input's fields and the reader must give back
 * exactly those parts (names and filenames kept to the characters the writer allows). */
#include <stdlib.h>

#include "fuzz.h"
#include "http.h"
#include "multipart.h"

struct want {
    const char *name[4], *filename[4], *data[4];
    size_t len[4];
    int n, seen, bad;
};

static int count_part(const struct mock_part *part, void *user)
{
    (void)part;
    (*(int *)user)++;
    return 0;
}

static int check_part(const struct mock_part *part, void *user)
{
    struct want *w = user;
    int i = w->seen++;
    if (i >= w->n || strcmp(part->name, w->name[i]) != 0 || part->len != w->len[i] ||
        (part->len && memcmp(part->data, w->data[i], part->len) != 0) ||
        part->has_filename != (w->filename[i] != NULL) ||
        (w->filename[i] && strcmp(part->filename, w->filename[i]) != 0))
        w->bad = 1;
    return 0;
}

/* Keeps a name to [A-Za-z0-9._-], at least one character. */
static void tame(char *s)
{
    static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
    for (char *p = s; *p; p++)
        *p = ok[(unsigned char)*p % (sizeof(ok) - 1)];
    if (s[0] == '\0')
        s[0] = 'f', s[1] = '\0';
}

static void roundtrip(struct fz *f)
{
    char names[4][65], files[4][65], datas[4][513];
    struct want w = {.n = (int)(fz_byte(f) % 4) + 1};
    struct sp_http_req req;
    sp_http_req_init(&req);
    int rc = sp_http_req_multipart_begin(&req);
    for (int i = 0; i < w.n; i++) {
        fz_str(f, names[i], 64);
        tame(names[i]);
        bool has_file = fz_byte(f) & 1;
        if (has_file) {
            fz_str(f, files[i], 64);
            tame(files[i]);
        }
        size_t len = fz_byte(f) * 2;
        len = len < f->n ? len : f->n;
        memcpy(datas[i], f->p, len);
        f->p += len, f->n -= len;
        w.name[i] = names[i], w.filename[i] = has_file ? files[i] : NULL;
        w.data[i] = datas[i], w.len[i] = len;
        rc |= sp_http_req_multipart_file(&req, names[i], w.filename[i], datas[i], len);
    }
    rc |= sp_http_req_multipart_end(&req);
    if (rc == 0) {
        const char *ct = sp_kv_get(&req.headers, "Content-Type");
        int walked = mock_multipart_each(ct, sp_buf_str(&req.body), req.body.len, check_part, &w);
        FZ_CHECK(walked == 0 && !w.bad && w.seen == w.n,
                 "the mock reads back exactly the parts the client wrote");
    }
    sp_http_req_cleanup(&req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f = {data, size};
    char ct[257];
    if (fz_byte(&f) & 1) {
        roundtrip(&f);
        return 0;
    }
    fz_str(&f, ct, 256);
    char *body = malloc(f.n + 1);
    if (body == NULL)
        return 0;
    memcpy(body, f.p, f.n);
    body[f.n] = '\0';
    int n = 0;
    mock_multipart_each(ct, body, f.n, count_part, &n);
    free(body);
    return 0;
}
