/* Zip archives for the action-server mock: GET /download_files answers with a zip of a
 * directory, and POST /upload_file unpacks a zip the client made of a directory
 * (spec/openhands-action-server.md 2.3). Plain PKZIP 2.0: deflate (zlib) or stored entries,
 * no zip64, so archives stay under 4 GiB (the callers' limits are far below). Host paths
 * only; the caller maps sandbox paths. */
#ifndef SP_MOCK_ZIPWRITE_H
#define SP_MOCK_ZIPWRITE_H

#include <stddef.h>

#include "buf.h"

/* Appends to out a zip of every regular file under host directory dir, recursively, named
 * by their path relative to dir ("a.txt", "sub/b.txt"); directories get no entries of their
 * own (as Python's os.walk + ZipFile.write). A dir that is a file gives an empty archive.
 * Returns 0, or -1 when a file cannot be read or out's limit is reached. */
int mock_zip_dir(const char *dir, struct sp_buf *out);

/* Unpacks the zip archive in [zip, zip + len) into host directory dest (which must exist),
 * creating subdirectories. Entry names are cleaned as Python's ZipFile.extractall does
 * (leading '/', "." and ".." components dropped), so nothing lands outside dest. At most
 * max_total bytes are written (a member declared or found larger than what is left of the
 * budget is refused before it is written). Returns 0, or -1 with a reason in why. */
int mock_zip_extract(
    const void *zip, size_t len, const char *dest, size_t max_total, char *why, size_t whylen);

/* The same beneath a directory: root is an open directory and rel (dir, dest) a path below
 * it; no path, and no symbolic link met on the way, is followed out of root. */
int mock_zip_dir_at(int root, const char *rel, struct sp_buf *out);
int mock_zip_extract_at(int root,
                        const char *dest,
                        const void *zip,
                        size_t len,
                        size_t max_total,
                        char *why,
                        size_t whylen);

/* The same for host paths under a sandbox's root (mock_sandbox_host_path), resolved beneath
 * that root: what the action server's download and upload use. */
struct mock_sandbox;
int mock_zip_dir_in(const struct mock_sandbox *sb, const char *host, struct sp_buf *out);
int mock_zip_extract_in(const struct mock_sandbox *sb,
                        const void *zip,
                        size_t len,
                        const char *dest,
                        size_t max_total,
                        char *why,
                        size_t whylen);

#endif
