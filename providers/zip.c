/* Bounded ZIP reading (see zip.h). Layout from PKWARE's APPNOTE: local headers and data,
 * then the central directory, then the end-of-central-directory record (EOCD), possibly
 * followed by a comment of up to 65 535 bytes. Every length read from the archive is
 * checked against the bytes we hold before it is used. */
#define ZLIB_CONST /* next_in is const: no cast away from the caller's bytes */
#include "zip.h"

#include <limits.h>
#include <string.h>

#include <zlib.h>

#define SIG_LOCAL      0x04034b50u
#define SIG_CENTRAL    0x02014b50u
#define SIG_EOCD       0x06054b50u
#define LOCAL_LEN      30
#define CENTRAL_LEN    46
#define EOCD_LEN       22
#define COMMENT_MAX    65535
#define FLAG_ENCRYPTED 0x0001u
#define METHOD_STORED  0
#define METHOD_DEFLATE 8

static uint16_t rd16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The EOCD is the last record whose signature is followed by a comment that fits. */
static long find_eocd(const unsigned char *d, size_t len)
{
    if (len < EOCD_LEN)
        return -1;
    size_t lowest = len - EOCD_LEN > COMMENT_MAX ? len - EOCD_LEN - COMMENT_MAX : 0;
    for (size_t pos = len - EOCD_LEN + 1; pos-- > lowest;) {
        if (rd32(d + pos) == SIG_EOCD && pos + EOCD_LEN + rd16(d + pos + 20) <= len)
            return (long)pos;
    }
    return -1;
}

enum sp_err sp_zip_open(struct sp_zip *z, const void *data, size_t len, struct sp_error *err)
{
    memset(z, 0, sizeof(*z));
    const unsigned char *d = data;
    long at = d ? find_eocd(d, len) : -1;
    if (at < 0)
        return sp_error_set(err, SP_E_PROTOCOL,
                            "zip: no end-of-central-directory record in %zu bytes", len);
    const unsigned char *e = d + at;
    uint16_t disk = rd16(e + 4), cd_disk = rd16(e + 6);
    uint16_t n_here = rd16(e + 8), n_total = rd16(e + 10);
    uint32_t cd_size = rd32(e + 12), cd_off = rd32(e + 16);
    if (n_total == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu)
        return sp_error_set(err, SP_E_PROTOCOL, "zip: ZIP64 archives are not supported");
    if (disk != 0 || cd_disk != 0 || n_here != n_total)
        return sp_error_set(err, SP_E_PROTOCOL, "zip: multi-disk archives are not supported");
    if (cd_off > (size_t)at || cd_size > (size_t)at - cd_off)
        return sp_error_set(err, SP_E_PROTOCOL,
                            "zip: central directory (%u bytes at %u) lies outside the archive",
                            (unsigned)cd_size, (unsigned)cd_off);
    if ((size_t)n_total * CENTRAL_LEN > cd_size)
        return sp_error_set(err, SP_E_PROTOCOL,
                            "zip: %u entries cannot fit in a %u-byte central directory",
                            (unsigned)n_total, (unsigned)cd_size);
    z->data = d;
    z->len = len;
    z->cd_offset = cd_off;
    z->cd_size = cd_size;
    z->n_entries = n_total;
    return SP_E_OK;
}

enum sp_err
sp_zip_next(const struct sp_zip *z, size_t *pos, struct sp_zip_entry *e, struct sp_error *err)
{
    if (*pos >= z->cd_size)
        return SP_E_NOT_FOUND;
    size_t left = z->cd_size - *pos;
    const unsigned char *p = z->data + z->cd_offset + *pos;
    if (left < CENTRAL_LEN || rd32(p) != SIG_CENTRAL)
        return sp_error_set(err, SP_E_PROTOCOL, "zip: bad central directory entry at offset %zu",
                            z->cd_offset + *pos);
    size_t nlen = rd16(p + 28), xlen = rd16(p + 30), clen = rd16(p + 32);
    if (CENTRAL_LEN + nlen + xlen + clen > left)
        return sp_error_set(err, SP_E_PROTOCOL,
                            "zip: central directory entry at offset %zu runs past the directory",
                            z->cd_offset + *pos);
    uint32_t csize = rd32(p + 20), usize = rd32(p + 24), local = rd32(p + 42);
    if (csize == 0xffffffffu || usize == 0xffffffffu || local == 0xffffffffu)
        return sp_error_set(err, SP_E_PROTOCOL, "zip: ZIP64 entries are not supported");
    e->name = (const char *)p + CENTRAL_LEN;
    e->name_len = nlen;
    e->flags = rd16(p + 8);
    e->method = rd16(p + 10);
    e->crc = rd32(p + 16);
    e->csize = csize;
    e->usize = usize;
    e->local_offset = local;
    *pos += CENTRAL_LEN + nlen + xlen + clen;
    return SP_E_OK;
}

enum sp_err
sp_zip_find(const struct sp_zip *z, const char *name, struct sp_zip_entry *e, struct sp_error *err)
{
    size_t want = strlen(name);
    size_t pos = 0;
    for (size_t i = 0; i < z->n_entries; i++) {
        enum sp_err rc = sp_zip_next(z, &pos, e, err);
        if (rc == SP_E_NOT_FOUND)
            break;
        if (rc != SP_E_OK)
            return rc;
        if (e->name_len == want && memcmp(e->name, name, want) == 0)
            return SP_E_OK;
    }
    return sp_error_set(err, SP_E_NOT_FOUND, "zip: no member named '%.200s'", name);
}

/* Where the member's data starts, after its local header; checks it ends before the
 * central directory. */
static enum sp_err member_data(const struct sp_zip *z,
                               const struct sp_zip_entry *e,
                               const unsigned char **out,
                               struct sp_error *err)
{
    if (e->local_offset > z->cd_offset || z->cd_offset - e->local_offset < LOCAL_LEN ||
        rd32(z->data + e->local_offset) != SIG_LOCAL)
        return sp_error_set(err, SP_E_PROTOCOL, "zip: bad local header for '%.*s'",
                            (int)(e->name_len > 200 ? 200 : e->name_len), e->name);
    const unsigned char *h = z->data + e->local_offset;
    size_t start = e->local_offset + LOCAL_LEN + rd16(h + 26) + rd16(h + 28);
    if (start > z->cd_offset || e->csize > z->cd_offset - start)
        return sp_error_set(err, SP_E_PROTOCOL, "zip: data of '%.*s' runs past the archive",
                            (int)(e->name_len > 200 ? 200 : e->name_len), e->name);
    *out = z->data + start;
    return SP_E_OK;
}

/* Raw-deflate decoding in chunks, refusing to produce more than the declared size. */
static enum sp_err inflate_member(const unsigned char *src,
                                  const struct sp_zip_entry *e,
                                  struct sp_buf *out,
                                  uint32_t *crc,
                                  struct sp_error *err)
{
    if (e->csize > UINT_MAX)
        return sp_error_set(err, SP_E_PROTOCOL, "zip: member too large to inflate");
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK)
        return sp_error_set(err, SP_E_INTERNAL, "zlib: inflateInit2 failed");
    zs.next_in = src;
    zs.avail_in = (uInt)e->csize;
    enum sp_err rc = SP_E_OK;
    size_t total = 0;
    unsigned char chunk[16384];
    int z = Z_OK;
    while (z != Z_STREAM_END && rc == SP_E_OK) {
        zs.next_out = chunk;
        zs.avail_out = sizeof(chunk);
        z = inflate(&zs, Z_NO_FLUSH);
        size_t got = sizeof(chunk) - zs.avail_out;
        if (z != Z_OK && z != Z_STREAM_END)
            rc = sp_error_set(err, SP_E_PROTOCOL, "zip: corrupt or truncated deflate data (%s)",
                              zs.msg ? zs.msg : "no progress");
        else if (got > e->usize - total)
            rc = sp_error_set(err, SP_E_PROTOCOL,
                              "zip: member inflates past its declared %zu bytes", e->usize);
        else if (sp_buf_append(out, chunk, got) != 0)
            rc = sp_error_set(err, SP_E_PROTOCOL, "zip: member exceeds %zu bytes", out->max);
        else if (z == Z_OK && got == 0 && zs.avail_in == 0)
            rc = sp_error_set(err, SP_E_PROTOCOL, "zip: deflate data ends early");
        *crc = (uint32_t)crc32(*crc, chunk, (uInt)got);
        total += got;
    }
    inflateEnd(&zs);
    if (rc == SP_E_OK && total != e->usize)
        rc = sp_error_set(err, SP_E_PROTOCOL, "zip: member inflates to %zu bytes, declared %zu",
                          total, e->usize);
    return rc;
}

enum sp_err sp_zip_read(const struct sp_zip *z,
                        const struct sp_zip_entry *e,
                        struct sp_buf *out,
                        struct sp_error *err)
{
    if (e->flags & FLAG_ENCRYPTED)
        return sp_error_set(err, SP_E_PROTOCOL, "zip: encrypted members are not supported");
    if (out->max == 0)
        out->max = SP_BUF_DEFAULT_MAX;
    if (e->usize > out->max - out->len)
        return sp_error_set(err, SP_E_PROTOCOL, "zip: member is %zu bytes, limit %zu", e->usize,
                            out->max - out->len);
    const unsigned char *src = NULL;
    enum sp_err rc = member_data(z, e, &src, err);
    if (rc != SP_E_OK)
        return rc;
    size_t mark = out->len;
    uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
    if (e->method == METHOD_STORED) {
        if (e->csize != e->usize)
            return sp_error_set(err, SP_E_PROTOCOL, "zip: stored member has sizes %zu and %zu",
                                e->csize, e->usize);
        if (sp_buf_append(out, src, e->csize) != 0)
            return sp_error_set(err, SP_E_PROTOCOL, "zip: member exceeds %zu bytes", out->max);
        crc = (uint32_t)crc32_z(crc, src, e->csize);
    } else if (e->method == METHOD_DEFLATE) {
        rc = inflate_member(src, e, out, &crc, err);
    } else {
        rc = sp_error_set(err, SP_E_PROTOCOL, "zip: compression method %u is not supported",
                          (unsigned)e->method);
    }
    if (rc == SP_E_OK && crc != e->crc)
        rc = sp_error_set(err, SP_E_PROTOCOL, "zip: CRC mismatch (%08x, declared %08x)",
                          (unsigned)crc, (unsigned)e->crc);
    if (rc != SP_E_OK) { /* no half-written member */
        out->len = mark;
        out->overflow = false;
        if (out->data)
            out->data[mark] = '\0';
    }
    return rc;
}

enum sp_err sp_zip_extract(
    const void *data, size_t len, const char *name, struct sp_buf *out, struct sp_error *err)
{
    struct sp_zip z;
    struct sp_zip_entry e;
    enum sp_err rc = sp_zip_open(&z, data, len, err);
    if (rc == SP_E_OK)
        rc = sp_zip_find(&z, name, &e, err);
    if (rc == SP_E_OK)
        rc = sp_zip_read(&z, &e, out, err);
    return rc;
}
