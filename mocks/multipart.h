/* A small multipart/form-data reader for the mocks: the action server's /upload_file and the
 * Daytona toolbox's files/upload and files/bulk-upload receive their files this way. It
 * walks a body that is already in memory and hands each part to a callback; nothing is
 * copied except the part's name and filename. */
#ifndef SP_MOCK_MULTIPART_H
#define SP_MOCK_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>

struct mock_part {
    char name[256];      /* Content-Disposition name="..." */
    char filename[4096]; /* filename="...", "" when absent */
    bool has_filename;
    const char *data; /* points into the body */
    size_t len;
};

/* Returns nonzero to stop the walk; that value is then returned by mock_multipart_each. */
typedef int (*mock_part_fn)(const struct mock_part *part, void *user);

/* Calls fn for each part of body, in order. content_type is the request's Content-Type
 * (its boundary parameter is used). Returns 0 when every part was seen, fn's nonzero value
 * when it stopped the walk, or -1 when the body is not multipart or is malformed
 * (no boundary, truncated part, missing Content-Disposition, name or filename too long). */
int mock_multipart_each(
    const char *content_type, const char *body, size_t len, mock_part_fn fn, void *user);

#endif
