/* multipart/form-data reader (RFC 7578) over a body already in memory. Lenient where
 * clients differ (bare LF line ends, a preamble before the first boundary), strict where a
 * mistake would misplace bytes (a part must end with CRLF + the delimiter). */
#include "multipart.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define BOUNDARY_MAX 200 /* RFC 2046 allows 70; some clients go further */

/* Finds needle in [hay, hay + n); NULL when absent (memmem is a GNU extension). */
static const char *find_bytes(const char *hay, size_t n, const char *needle, size_t m)
{
    if (m == 0 || n < m)
        return NULL;
    for (size_t i = 0; i + m <= n; i++) {
        const char *p = memchr(hay + i, needle[0], n - m - i + 1);
        if (p == NULL)
            return NULL;
        if (memcmp(p, needle, m) == 0)
            return p;
        i = (size_t)(p - hay);
    }
    return NULL;
}

/* Copies a parameter value (quoted with backslash escapes, or a bare token) from s into out.
 * Returns 0, or -1 when it does not fit. */
static int copy_param(const char *s, const char *end, char *out, size_t outlen)
{
    size_t n = 0;
    if (s < end && *s == '"') {
        for (s++; s < end && *s != '"'; s++) {
            if (*s == '\\' && s + 1 < end)
                s++;
            if (n + 1 >= outlen)
                return -1;
            out[n++] = *s;
        }
    } else {
        for (; s < end && *s != ';' && *s != ' ' && *s != '\t' && *s != '\r'; s++) {
            if (n + 1 >= outlen)
                return -1;
            out[n++] = *s;
        }
    }
    out[n] = '\0';
    return 0;
}

/* Finds parameter `key` in a header value like `form-data; name="a"; filename="b"`.
 * Returns a pointer to its value or NULL. Only exact key matches count (not "filename*"). */
static const char *find_param(const char *v, const char *end, const char *key)
{
    size_t klen = strlen(key);
    for (const char *p = v; p < end; p++) {
        if (*p == '"') { /* skip quoted values so `name="x; filename=y"` cannot confuse us */
            for (p++; p < end && *p != '"'; p++)
                if (*p == '\\')
                    p++;
            continue;
        }
        if (*p != ';')
            continue;
        const char *k = p + 1;
        while (k < end && (*k == ' ' || *k == '\t'))
            k++;
        if ((size_t)(end - k) > klen && strncasecmp(k, key, klen) == 0 && k[klen] == '=')
            return k + klen + 1;
    }
    return NULL;
}

static int parse_disposition(const char *v, const char *end, struct mock_part *part)
{
    const char *name = find_param(v, end, "name");
    const char *filename = find_param(v, end, "filename");
    if (name == NULL || copy_param(name, end, part->name, sizeof(part->name)) != 0)
        return -1;
    part->has_filename = filename != NULL;
    part->filename[0] = '\0';
    if (filename != NULL && copy_param(filename, end, part->filename, sizeof(part->filename)) != 0)
        return -1;
    return 0;
}

/* Reads the part headers starting at *pos up to the blank line; fills name and filename and
 * leaves *pos at the first data byte. */
static int parse_headers(const char *body, size_t len, size_t *pos, struct mock_part *part)
{
    bool seen = false;
    for (;;) {
        const char *line = body + *pos;
        const char *nl = memchr(line, '\n', len - *pos);
        if (nl == NULL)
            return -1;
        const char *end = nl > line && nl[-1] == '\r' ? nl - 1 : nl;
        *pos = (size_t)(nl - body) + 1;
        if (end == line)
            return seen ? 0 : -1;
        static const char CD[] = "content-disposition:";
        if ((size_t)(end - line) > sizeof(CD) - 1 && strncasecmp(line, CD, sizeof(CD) - 1) == 0) {
            if (parse_disposition(line + sizeof(CD) - 1, end, part) != 0)
                return -1;
            seen = true;
        }
    }
}

static int get_boundary(const char *content_type, char *delim, size_t *dlen)
{
    static const char MP[] = "multipart/";
    if (content_type == NULL || strncasecmp(content_type, MP, sizeof(MP) - 1) != 0)
        return -1;
    const char *end = content_type + strlen(content_type);
    const char *b = find_param(content_type, end, "boundary");
    char boundary[BOUNDARY_MAX + 1];
    if (b == NULL || copy_param(b, end, boundary, sizeof(boundary)) != 0 || boundary[0] == '\0')
        return -1;
    *dlen = (size_t)snprintf(delim, BOUNDARY_MAX + 5, "\r\n--%s", boundary);
    return 0;
}

int mock_multipart_each(
    const char *content_type, const char *body, size_t len, mock_part_fn fn, void *user)
{
    char delim[BOUNDARY_MAX + 5]; /* "\r\n--" + boundary */
    size_t dlen;
    if (get_boundary(content_type, delim, &dlen) != 0 || body == NULL)
        return -1;
    /* The first delimiter may open the body (no CRLF before it) or follow a preamble. */
    size_t pos;
    if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0) {
        pos = dlen - 2;
    } else {
        const char *first = find_bytes(body, len, delim, dlen);
        if (first == NULL)
            return -1;
        pos = (size_t)(first - body) + dlen;
    }
    for (;;) {
        if (len - pos >= 2 && body[pos] == '-' && body[pos + 1] == '-')
            return 0; /* closing delimiter */
        while (pos < len && (body[pos] == ' ' || body[pos] == '\t'))
            pos++;
        if (pos < len && body[pos] == '\r')
            pos++;
        if (pos >= len || body[pos] != '\n')
            return -1;
        pos++;
        struct mock_part part;
        if (parse_headers(body, len, &pos, &part) != 0)
            return -1;
        const char *next = find_bytes(body + pos, len - pos, delim, dlen);
        if (next == NULL)
            return -1;
        part.data = body + pos;
        part.len = (size_t)(next - part.data);
        int rc = fn(&part, user);
        if (rc != 0)
            return rc;
        pos = (size_t)(next - body) + dlen;
    }
}
