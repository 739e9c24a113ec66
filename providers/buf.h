/* A growable byte buffer with a hard limit. Everything a remote peer sends lands in one of
 * these: past `max` bytes an append fails and `overflow` is set, so the caller can report
 * "body exceeds N bytes" instead of growing without bound. The data is always
 * NUL-terminated (not counted in len), so text bodies can be used as C strings. */
#ifndef SP_BUF_H
#define SP_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct sp_buf {
    char *data;    /* NULL until the first append */
    size_t len;    /* bytes used, excluding the terminating NUL */
    size_t cap;    /* bytes allocated */
    size_t max;    /* hard limit on len; 0 = SP_BUF_DEFAULT_MAX */
    bool overflow; /* an append was refused because of max */
};

#define SP_BUF_DEFAULT_MAX ((size_t)64 << 20)

/* Initialises an empty buffer with the given limit (0 = default). Never fails. */
void sp_buf_init(struct sp_buf *b, size_t max);
/* Frees the data; the buffer may be reused after sp_buf_init. b may be NULL. */
void sp_buf_cleanup(struct sp_buf *b);
/* Empties the buffer, keeping its allocation and limit. */
void sp_buf_reset(struct sp_buf *b);

/* Appends n bytes. Returns 0, or -1 on overflow (overflow set) or out of memory. */
int sp_buf_append(struct sp_buf *b, const void *data, size_t n);
int sp_buf_puts(struct sp_buf *b, const char *s);
int sp_buf_printf(struct sp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s with every byte outside [A-Za-z0-9-._~] percent-encoded (RFC 3986). */
int sp_buf_put_urlencoded(struct sp_buf *b, const char *s);
/* The value of hex digit c (either case), or -1 when c is none: for the percent-decoders
 * (grpc-message, query strings, host labels). */
int sp_hex_digit(char c);
/* Appends n bytes as standard base64 with padding. */
int sp_buf_put_base64(struct sp_buf *b, const void *data, size_t n);

/* Replaces the contents with a copy of s. */
int sp_buf_set(struct sp_buf *b, const char *s);

/* Returns the data as a C string ("" when empty); never NULL. */
const char *sp_buf_str(const struct sp_buf *b);

/* Transfers the allocation to the caller (free with free()); the buffer is left empty.
 * Returns a heap copy of "" when empty; NULL only when out of memory. */
char *sp_buf_steal(struct sp_buf *b);

/* Decodes standard or URL-safe base64 (padding optional) into out.
 * Returns 0, or -1 if the input is not base64 or out is full. */
int sp_base64_decode(const char *in, size_t len, struct sp_buf *out);

#endif
