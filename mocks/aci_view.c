/* OH_ACI `view` for the action-server mock (`read` with impl_source oh_aci) and the texts the
 * editor's commands share (aci_int.h): numbered snippets, line ranges and path/file
 * validation, with the exact texts of openhands-aci 0.3.2 (openhands_aci/editor/editor.py
 * view 271-395, validate_path 511-563, validate_file 584-616, _make_output 670-705;
 * prompts.py; config.py). Directory listings are built here instead of with `find`. */
#include "aci_int.h"
#include "action_server_int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_RESPONSE 16000 /* config.py MAX_RESPONSE_LEN_CHAR */
#define MAX_FILE     (10L * 1024 * 1024)

static const char TRUNCATED[] =
    "<response clipped><NOTE>Due to the max output limit, only part of this file has been "
    "shown to you. You should retry this tool after you have searched inside the file with "
    "`grep -n` in order to find the line numbers of what you are looking for.</NOTE>";

/* --- texts -------------------------------------------------------------------------------- */

/* _make_output: "Here's the result of running `cat -n` on <desc>:\n" and numbered lines. */
void aci_make_output(struct sp_buf *o, const char *content, const char *desc, long start)
{
    size_t chars = 0, cut = strlen(content);
    for (size_t i = 0; content[i]; i++)
        if (((unsigned char)content[i] & 0xc0) != 0x80 && ++chars > MAX_RESPONSE) {
            cut = i;
            break;
        }
    struct sp_buf t;
    sp_buf_init(&t, 0);
    sp_buf_append(&t, content, cut);
    if (cut < strlen(content))
        sp_buf_puts(&t, TRUNCATED);
    sp_buf_printf(o, "Here's the result of running `cat -n` on %s:\n", desc);
    const char *p = sp_buf_str(&t);
    for (long n = start;; n++) {
        size_t len = strcspn(p, "\n");
        sp_buf_printf(o, "%6ld\t%.*s", n, (int)len, p);
        if (p[len] == '\0')
            break;
        sp_buf_puts(o, "\n");
        p += len + 1;
    }
    sp_buf_puts(o, "\n");
    sp_buf_cleanup(&t);
}

/* Lines from..to (1-based, inclusive) of text with their newlines (read_file with a range). */
void aci_line_range(const char *text, long from, long to, struct sp_buf *out)
{
    long n = 1;
    for (const char *p = text; *p != '\0' && n <= to; n++) {
        size_t len = strcspn(p, "\n");
        len += p[len] == '\n';
        if (n >= from)
            sp_buf_append(out, p, len);
        p += len;
    }
}

long aci_count_lines(const char *t)
{
    long n = 0;
    for (const char *p = t; *p; p++)
        n += *p == '\n';
    return n + (t[0] != '\0' && t[strlen(t) - 1] != '\n');
}

/* --- validation ----------------------------------------------------------------------------- */

static bool is_binary_file(const char *host)
{
    FILE *f = fopen(host, "rb");
    char buf[1024];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f)
        fclose(f);
    return memchr(buf, '\0', n) != NULL;
}

/* validate_path (editor.py:511-563) and validate_file (584-616); "" when fine. */
void aci_validate(
    struct as_ctx *c, enum aci_cmd cmd, const char *path, const char *host, struct sp_buf *err)
{
    struct stat st;
    bool exists = stat(host, &st) == 0;
    if (path[0] != '/') {
        char sugg[2048];
        mock_sandbox_host_path(c->sb, c->workdir, path, sugg, sizeof sugg);
        sp_buf_printf(err,
                      "Invalid `path` parameter: %s. The path should be an absolute path, "
                      "starting with `/`.",
                      path);
        if (stat(sugg, &st) == 0)
            sp_buf_printf(err, " Maybe you meant %s/%s?", c->workdir, path);
        return;
    }
    if (cmd == ACI_CREATE && exists)
        sp_buf_printf(err,
                      "Invalid `path` parameter: %s. File already exists at: %s. Cannot "
                      "overwrite files using command `create`.",
                      path, path);
    else if (cmd != ACI_CREATE && !exists)
        sp_buf_printf(err,
                      "Invalid `path` parameter: %s. The path %s does not exist. Please "
                      "provide a valid path.",
                      path, path);
    else if (cmd != ACI_VIEW && exists && S_ISDIR(st.st_mode))
        sp_buf_printf(err,
                      "Invalid `path` parameter: %s. The path %s is a directory and only "
                      "the `view` command can be used on directories.",
                      path, path);
    else if (exists && S_ISREG(st.st_mode) && st.st_size > MAX_FILE)
        sp_buf_printf(err,
                      "File validation failed for %s: File is too large (%.1fMB). Maximum "
                      "allowed size is 10MB.",
                      path, (double)st.st_size / 1024 / 1024);
    else if (exists && S_ISREG(st.st_mode) && is_binary_file(host))
        sp_buf_printf(err,
                      "File validation failed for %s: File appears to be binary and this "
                      "file type cannot be read or edited by this tool.",
                      path);
}

/* Python's repr of a JSON list of ints (view_range), e.g. "[1, 3]". */
void aci_range_repr(const cJSON *r, struct sp_buf *b)
{
    sp_buf_puts(b, "[");
    for (const cJSON *x = r->child; x; x = x->next)
        sp_buf_printf(b, "%s%.0f", x == r->child ? "" : ", ", x->valuedouble);
    sp_buf_puts(b, "]");
}

/* --- view ---------------------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
list_dir(const char *host, const char *guest, int depth, char ***v, size_t *n, int *hidden)
{
    DIR *d = opendir(host);
    for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (e->d_name[0] == '.') {
            *hidden += depth == 1;
            continue;
        }
        char h[2048], g[2048];
        struct stat st;
        snprintf(h, sizeof h, "%s/%s", host, e->d_name);
        snprintf(g, sizeof g, "%s/%s", guest, e->d_name);
        bool dir = stat(h, &st) == 0 && S_ISDIR(st.st_mode);
        char **nv = realloc(*v, (*n + 1) * sizeof *nv);
        if (nv == NULL)
            break;
        *v = nv;
        size_t gl = strlen(g);
        if (((*v)[*n] = malloc(gl + 2)) == NULL)
            break;
        snprintf((*v)[(*n)++], gl + 2, "%s%s", g, dir ? "/" : "");
        if (dir && depth < 2)
            list_dir(h, g, depth + 1, v, n, hidden);
    }
    if (d)
        closedir(d);
}

void aci_view_dir(const char *path, const char *host, struct sp_buf *o)
{
    char **v = NULL;
    size_t n = 0;
    int hidden = 0;
    list_dir(host, path, 1, &v, &n, &hidden);
    qsort(v, n, sizeof *v, cmp_str);
    sp_buf_printf(o,
                  "Here's the files and directories up to 2 levels deep in %s, excluding "
                  "hidden items:\n%s/",
                  path, path);
    for (size_t i = 0; i < n; i++)
        sp_buf_printf(o, "\n%s", v[i]), free(v[i]);
    free(v);
    if (hidden > 0)
        sp_buf_printf(o,
                      "\n\n%d hidden files/directories in this directory are excluded. You can "
                      "use 'ls -la %s' to see them.",
                      hidden, path);
}

void aci_view_file(
    const char *path, const char *text, const cJSON *range, struct sp_buf *o, struct sp_buf *err)
{
    if (range == NULL || cJSON_IsNull(range) || cJSON_GetArraySize(range) == 0) {
        aci_make_output(o, text, path, 1);
        return;
    }
    struct sp_buf r, t;
    sp_buf_init(&r, 0);
    sp_buf_init(&t, 0);
    aci_range_repr(range, &r);
    long lines = aci_count_lines(text);
    const cJSON *a = cJSON_GetArrayItem(range, 0), *b = cJSON_GetArrayItem(range, 1);
    if (cJSON_GetArraySize(range) != 2 || !cJSON_IsNumber(a) || !cJSON_IsNumber(b)) {
        sp_buf_printf(err,
                      "Invalid `view_range` parameter: %s. It should be a list of two "
                      "integers.",
                      sp_buf_str(&r));
    } else if (a->valueint < 1 || a->valueint > lines) {
        sp_buf_printf(err,
                      "Invalid `view_range` parameter: %s. Its first element `%d` should be "
                      "within the range of lines of the file: [1, %ld].",
                      sp_buf_str(&r), a->valueint, lines);
    } else {
        long end = b->valueint == -1 ? lines : b->valueint;
        bool warn = end > lines;
        end = warn ? lines : end;
        if (end < a->valueint) {
            sp_buf_printf(err,
                          "Invalid `view_range` parameter: %s. Its second element `%ld` "
                          "should be greater than or equal to the first element `%d`.",
                          sp_buf_str(&r), end, a->valueint);
        } else {
            aci_line_range(text, a->valueint, end, &t);
            /* '\n'.join(content.splitlines()) */
            while (t.len > 0 && t.data[t.len - 1] == '\n')
                t.data[--t.len] = '\0';
            if (warn)
                sp_buf_printf(o,
                              "NOTE: We only show up to %ld since there're only %ld lines in "
                              "this file.\n",
                              lines, lines);
            aci_make_output(o, sp_buf_str(&t), path, a->valueint);
        }
    }
    sp_buf_cleanup(&r);
    sp_buf_cleanup(&t);
}

cJSON *as_aci_view(struct as_ctx *c, const char *path, const cJSON *view_range)
{
    char host[2048];
    struct sp_buf o, err, text;
    sp_buf_init(&o, 0);
    sp_buf_init(&err, 0);
    sp_buf_init(&text, 0);
    struct stat st;
    if (mock_sandbox_host_path(c->sb, c->workdir, path, host, sizeof host) != 0)
        host[0] = '\0';
    aci_validate(c, ACI_VIEW, path, host, &err);
    if (err.len == 0 && stat(host, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (view_range != NULL && cJSON_GetArraySize(view_range) > 0) {
            struct sp_buf r;
            sp_buf_init(&r, 0);
            aci_range_repr(view_range, &r);
            sp_buf_printf(&err,
                          "Invalid `view_range` parameter: %s. The `view_range` parameter "
                          "is not allowed when `path` points to a directory.",
                          sp_buf_str(&r));
            sp_buf_cleanup(&r);
        } else {
            aci_view_dir(path, host, &o);
        }
    } else if (err.len == 0 && mock_read_file(host, &text) == 0) {
        aci_view_file(path, sp_buf_str(&text), view_range, &o, &err);
    }
    struct sp_buf content;
    sp_buf_init(&content, 0);
    if (err.len > 0)
        sp_buf_printf(&content, "ERROR:\n%s", sp_buf_str(&err));
    else
        sp_buf_puts(&content, sp_buf_str(&o));
    cJSON *obs = cJSON_CreateObject();
    struct sp_buf msg;
    sp_buf_init(&msg, 0);
    sp_buf_printf(&msg, "I read the file %s.", path);
    cJSON_AddStringToObject(obs, "message", sp_buf_str(&msg));
    cJSON_AddStringToObject(obs, "observation", "read");
    cJSON_AddStringToObject(obs, "content", sp_buf_str(&content));
    cJSON *ex = cJSON_AddObjectToObject(obs, "extras");
    cJSON_AddStringToObject(ex, "path", path);
    cJSON_AddStringToObject(ex, "impl_source", "oh_aci");
    sp_buf_cleanup(&msg);
    sp_buf_cleanup(&content);
    sp_buf_cleanup(&o);
    sp_buf_cleanup(&err);
    sp_buf_cleanup(&text);
    return obs;
}
