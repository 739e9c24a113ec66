/* Fuzz target: the Connect server-stream parser (providers/connect.c) fed the input in
 * chunks whose sizes the first byte picks, with E2B's process event parser and its
 * byte-exact data-event recogniser (providers/e2b_json.c) on every message, as the E2B
 * client runs them on an envd stream. */
#include <cjson/cJSON.h>

#include "connect.h"
#include "e2b.h"
#include "fuzz.h"

static int on_msg(void *user, const struct cJSON *msg, struct sp_error *err)
{
    struct e2b_event ev;
    memset(&ev, 0, sizeof(ev));
    return sp__e2b_parse_event(msg, &ev, user, err) == 0 ? 0 : -1;
}

static int on_raw(void *user, const char *payload, size_t len, struct sp_error *err)
{
    const char *b64;
    size_t b64_len;
    (void)err;
    if (sp__e2b_data_span(payload, len, &b64, &b64_len) == 0)
        return 0;
    FZ_CHECK(b64 >= payload && b64 + b64_len <= payload + len,
             "the data span lies inside the payload");
    return sp_base64_decode(b64, b64_len, user) == 0 ? 1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f = {data, size};
    unsigned mode = fz_byte(&f);
    size_t step = (mode & 0x3f) + 1;
    struct sp_connect_stream s;
    struct sp_error err;
    struct sp_buf out;
    sp_buf_init(&out, 1 << 20);
    sp_error_clear(&err);
    sp_connect_stream_init(&s, mode & 0x40 ? 1024 : 0);
    if (mode & 0x80)
        s.raw = on_raw;
    int rc = 0;
    for (size_t off = 0; rc == 0 && off < f.n; off += step) {
        size_t n = f.n - off < step ? f.n - off : step;
        rc = sp_connect_stream_feed(&s, f.p + off, n, on_msg, &out, &err);
    }
    if (rc == 0)
        sp_connect_stream_finish(&s, &err);
    sp_connect_stream_cleanup(&s);
    sp_buf_cleanup(&out);
    return 0;
}
