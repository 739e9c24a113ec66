/* Shared by the fuzz targets (suites/fuzz/fuzz_*.c). Each target defines libFuzzer's entry
 * point; `make fuzz` links it with libFuzzer (clang), and `make test` links it with
 * replay.c, which feeds it every file of its checked-in corpus once, so a past crash stays
 * fixed without clang. Inputs are split with the helpers below: the first byte usually picks
 * the parser, the rest is the bytes it parses. The preambles the targets share -- a parser
 * picked by the first byte, a mock started in-process and driven over loopback HTTP -- are
 * in helpers.c, linked into every target, so a target states only what it fuzzes. */
#ifndef SP_FUZZ_H
#define SP_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property the target checks: when it does not hold, say which and abort (libFuzzer then
 * saves the input as a crash). */
#define FZ_CHECK(cond, what)                                                             \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, what); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

/* A cursor over the input. */
struct fz {
    const uint8_t *p;
    size_t n;
};

/* The next byte, 0 once the input is spent. */
static inline unsigned fz_byte(struct fz *f)
{
    if (f->n == 0)
        return 0;
    f->n--;
    return *f->p++;
}

/* Up to max bytes up to the next NUL (or the end) as a C string in out (which holds max+1);
 * the NUL is consumed. Lets one input carry several strings. */
static inline const char *fz_str(struct fz *f, char *out, size_t max)
{
    size_t i = 0;
    while (f->n > 0 && i < max) {
        f->n--;
        char c = (char)*f->p++;
        if (c == '\0')
            break;
        out[i++] = c;
    }
    out[i] = '\0';
    return out;
}

/* --- parser targets (helpers.c) --------------------------------------------------------- */

struct sp_error;
/* One parser of a target: which (0..n-1) picks it; body is NUL-terminated with its length,
 * as the transport delivers a response; err starts cleared. */
typedef void (*fz_parse_fn)(unsigned which, const char *body, size_t len, struct sp_error *err);
/* The whole entry point of a parser target: the first byte % n picks the parser, the rest is
 * the body. Returns 0. */
int fz_run_parser(const uint8_t *data, size_t size, unsigned n, fz_parse_fn parse);

/* --- mock targets (helpers.c): a mock in-process, requests over loopback ----------------- */

struct sp_buf;
struct sp_kv;
struct sp_mock;

struct fz_mock {
    struct sp_mock *m;
    char base[64]; /* http://127.0.0.1:PORT */
    void *curl;    /* CURL *, reused for every request */
    bool h2;       /* HTTP/2 with prior knowledge (a gRPC mock) */
    long inputs;   /* inputs run so far */
};

/* Starts the vendor's mock (quiet, zero latency, shell backend) and a curl handle; aborts
 * when it cannot. Both are stopped at exit (which removes the sandboxes' directories). */
void fz_mock_start(struct fz_mock *fm, const char *vendor);
/* One request: headers a NULL-terminated list of "Name: value" lines (NULL = none), ctype
 * the Content-Type (NULL = none), body NULL for none. The response body goes to out and its
 * header and trailer fields to fields (either may be NULL). Returns the HTTP status, 0 when
 * there was no HTTP answer. */
long fz_http(struct fz_mock *fm,
             const char *method,
             const char *path,
             const char *const *headers,
             const char *ctype,
             const void *body,
             size_t len,
             struct sp_buf *out,
             struct sp_kv *fields);
/* The rest of the input as a request body; a multipart ctype gets a fixed boundary line
 * ("--B\r\n", boundary=B) first, so that parts are reachable. Returns the HTTP status. */
long fz_http_rest(struct fz_mock *fm,
                  const char *method,
                  const char *path,
                  const char *const *headers,
                  const char *ctype,
                  const struct fz *f);
/* The usual split of a mock target's input: a first byte below 0x80 picks route
 * (byte % n_routes, returned) and the rest is its body; any other is followed by a path for
 * the route matcher (fz_any_path into path) and -1 is returned. */
int fz_pick_route(struct fz *f, size_t n_routes, char *path, size_t len);
/* True every 128th input of fm's target: time to delete what fuzzed bodies created. */
bool fz_mock_sweep_due(struct fz_mock *fm);
/* pattern with its one "%s" (if any) replaced by id, into out. */
void fz_route_path(char *out, size_t len, const char *pattern, const char *id);
/* "/" and the next string of the input (up to 1024 bytes), with the bytes a URL cannot carry
 * percent-escaped: a path for the route matcher and its parameters. out holds 1100 bytes. */
void fz_any_path(struct fz *f, char *out, size_t len);
/* The value of "key":"..." in a JSON body (enough for the ids the mocks return). */
void fz_json_str(const struct sp_buf *b, const char *key, char *out, size_t len);
/* Calls fn for every sandbox the client of vendor lists on the mock that has no label
 * "keep" (those the fuzzed bodies created), to delete them. */
void fz_each_created(struct fz_mock *fm,
                     const char *vendor,
                     void (*fn)(struct fz_mock *fm, const char *id));
/* Sleeps ms milliseconds (fixture polls). */
void fz_sleep_ms(long ms);

#endif
