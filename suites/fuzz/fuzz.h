/* Shared by the fuzz targets (suites/fuzz/fuzz_*.c). Each target defines libFuzzer's entry
 * point; `make fuzz` links it with libFuzzer (clang), and `make test` links it with
 * replay.c, which feeds it every file of its checked-in corpus once, so a past crash stays
 * fixed without clang. Inputs are split with the helpers below: the first byte usually picks
 * the parser, the rest is the bytes it parses. */
#ifndef SP_FUZZ_H
#define SP_FUZZ_H

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

#endif
