/* A bounded reader for ZIP archives held in memory: the action server's /download_files
 * answers with one (spec/openhands-action-server.md 2.3), and we want one member out of it.
 * Reads the central directory, checks every offset and size against the archive before
 * touching it, and inflates stored or deflated members (zlib, raw deflate) into a bounded
 * buffer, verifying the declared size and the CRC. Anything malformed, encrypted, ZIP64 or
 * larger than the output limit is a `protocol` error saying what was wrong. No allocation
 * besides the output buffer and zlib's state. */
#ifndef SP_ZIP_H
#define SP_ZIP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "errors.h"

/* An opened archive: a view of the caller's bytes, which must outlive it. */
struct sp_zip {
    const unsigned char *data;
    size_t len;
    size_t cd_offset; /* central directory */
    size_t cd_size;
    size_t n_entries;
};

/* One member as the central directory describes it. name points into the archive and is
 * not NUL-terminated. */
struct sp_zip_entry {
    const char *name;
    size_t name_len;
    uint16_t flags;
    uint16_t method; /* 0 stored, 8 deflate */
    uint32_t crc;
    size_t csize; /* compressed size */
    size_t usize; /* uncompressed size */
    size_t local_offset;
};

/* Finds the end-of-central-directory record and checks the directory's bounds. */
enum sp_err sp_zip_open(struct sp_zip *z, const void *data, size_t len, struct sp_error *err);

/* Walks the central directory. *pos starts at 0; each call fills e and advances *pos.
 * Returns SP_E_OK with an entry, SP_E_NOT_FOUND after the last one, or a protocol error. */
enum sp_err
sp_zip_next(const struct sp_zip *z, size_t *pos, struct sp_zip_entry *e, struct sp_error *err);

/* Finds the member called name (exact match). SP_E_NOT_FOUND when absent. */
enum sp_err
sp_zip_find(const struct sp_zip *z, const char *name, struct sp_zip_entry *e, struct sp_error *err);

/* Appends the member's uncompressed bytes to out (bounded by out->max). */
enum sp_err sp_zip_read(const struct sp_zip *z,
                        const struct sp_zip_entry *e,
                        struct sp_buf *out,
                        struct sp_error *err);

/* Opens data, finds name and appends its bytes to out. */
enum sp_err sp_zip_extract(
    const void *data, size_t len, const char *name, struct sp_buf *out, struct sp_error *err);

#endif
