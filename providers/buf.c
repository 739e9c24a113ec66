/* Bounded byte buffers and the two encodings every vendor needs (see buf.h). */
#include "buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sp_buf_init(struct sp_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : SP_BUF_DEFAULT_MAX;
    b->overflow = false;
}

void sp_buf_cleanup(struct sp_buf *b)
{
    if (b == NULL)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->overflow = false;
}

void sp_buf_reset(struct sp_buf *b)
{
    b->len = 0;
    b->overflow = false;
    if (b->data)
        b->data[0] = '\0';
}

static int buf_reserve(struct sp_buf *b, size_t extra)
{
    if (b->max == 0)
        b->max = SP_BUF_DEFAULT_MAX;
    if (extra > b->max - b->len) {
        b->overflow = true;
        return -1;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (p == NULL)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int sp_buf_append(struct sp_buf *b, const void *data, size_t n)
{
    if (buf_reserve(b, n) != 0)
        return -1;
    if (n > 0)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int sp_buf_puts(struct sp_buf *b, const char *s)
{
    return sp_buf_append(b, s, strlen(s));
}

int sp_buf_printf(struct sp_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int sp_buf_put_urlencoded(struct sp_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        int plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~';
        char enc[3] = {'%', hex[c >> 4], hex[c & 15]};
        if (sp_buf_append(b, plain ? (const char *)p : enc, plain ? 1 : 3) != 0)
            return -1;
    }
    return 0;
}

int sp_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int sp_buf_put_base64(struct sp_buf *b, const void *data, size_t n)
{
    const unsigned char *in = data;
    if (buf_reserve(b, (n + 2) / 3 * 4) != 0)
        return -1;
    char *out = b->data + b->len;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *out++ = b64_alphabet[v >> 18];
        *out++ = b64_alphabet[(v >> 12) & 63];
        *out++ = b64_alphabet[(v >> 6) & 63];
        *out++ = b64_alphabet[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
        *out++ = b64_alphabet[v >> 18];
        *out++ = b64_alphabet[(v >> 12) & 63];
        *out++ = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
        *out++ = '=';
    }
    b->len = (size_t)(out - b->data);
    b->data[b->len] = '\0';
    return 0;
}

/* Value of each ASCII character in either base64 alphabet (standard "+/" and URL-safe "-_");
 * 255 marks a character of neither. Bytes >= 128 are rejected before the lookup. */
/* clang-format off */
static const unsigned char b64_values[128] = { /* a row per 16 characters */
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,  62, 255,  62, 255,  63,
     52,  53,  54,  55,  56,  57,  58,  59,  60,  61, 255, 255, 255, 255, 255, 255,
    255,   0,   1,   2,   3,   4,   5,   6,   7,   8,   9,  10,  11,  12,  13,  14,
     15,  16,  17,  18,  19,  20,  21,  22,  23,  24,  25, 255, 255, 255, 255,  63,
    255,  26,  27,  28,  29,  30,  31,  32,  33,  34,  35,  36,  37,  38,  39,  40,
     41,  42,  43,  44,  45,  46,  47,  48,  49,  50,  51, 255, 255, 255, 255, 255,
};
/* clang-format on */

/* The 24 bits of up to 4 characters, left-aligned; bit 31 set if one is not base64. */
static uint32_t b64_quad(const unsigned char *p, size_t n)
{
    uint32_t v = 0, bad = 0;
    for (size_t k = 0; k < 4; k++) {
        unsigned char c = k < n ? p[k] : 'A';
        uint32_t d = c < 128 ? b64_values[c] : 255;
        bad |= d;
        v = v << 6 | (d & 63);
    }
    return (bad & 0x80) ? UINT32_C(1) << 31 : v;
}

/* Decodes into the reserved tail of out and commits only a complete success, so a bad
 * string leaves out as it was (but for the overflow flag when it does not fit). Data
 * events of a streamed command are megabytes of this: four characters a step, one table
 * lookup each, one reservation per call. */
int sp_base64_decode(const char *in, size_t len, struct sp_buf *out)
{
    while (len > 0 && in[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return -1;
    size_t tail = len % 4, n = len / 4 * 3 + (tail ? tail - 1 : 0);
    if (buf_reserve(out, n) != 0)
        return -1;
    const unsigned char *p = (const unsigned char *)in;
    unsigned char *o = (unsigned char *)out->data + out->len;
    size_t i = 0;
    uint32_t v = 0;
    for (; i + 4 <= len; i += 4) {
        if ((v = b64_quad(p + i, 4)) >> 31)
            break;
        o[0] = (unsigned char)(v >> 16), o[1] = (unsigned char)(v >> 8), o[2] = (unsigned char)v;
        o += 3;
    }
    if (i < len && !(v >> 31)) {
        v = b64_quad(p + i, tail);
        o[0] = (unsigned char)(v >> 16);
        if (tail == 3)
            o[1] = (unsigned char)(v >> 8);
    }
    if (v >> 31) {
        out->data[out->len] = '\0'; /* the terminator the partial output overwrote */
        return -1;
    }
    out->len += n;
    out->data[out->len] = '\0';
    return 0;
}

int sp_buf_set(struct sp_buf *b, const char *s)
{
    sp_buf_reset(b);
    return sp_buf_puts(b, s);
}

const char *sp_buf_str(const struct sp_buf *b)
{
    return b->data ? b->data : "";
}

char *sp_buf_steal(struct sp_buf *b)
{
    char *p = b->data;
    if (p == NULL)
        p = calloc(1, 1);
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
