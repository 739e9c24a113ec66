/* OH_ACI file editing for the action-server mock: the `edit` action (create, str_replace,
 * insert, undo_edit; `view` is aci_view.c), with the texts of openhands-aci 0.3.2
 * (openhands_aci/editor/editor.py 103-152, 169-269, 415-509, 565-582; exceptions.py) as the
 * server wraps them (action_execution_server.py:100-163 _execute_file_editor, 565-589 edit).
 * Paths are sandbox paths; the editor's workspace root is the server's --working-dir. Undo
 * history: the last 10 versions per file, per sandbox.
 *
 * Simplifications: the binary test is a NUL byte in the first 1024 bytes (binaryornot is a
 * heuristic); office/audio files are not converted to Markdown; the diff is one hunk around
 * the changed lines (difflib may split a change with unchanged lines inside into several). */
#include "aci_int.h"
#include "action_server_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_HISTORY 10

struct aci_hist {
    char path[1024]; /* host path */
    char *versions[MAX_HISTORY];
    int n;
    struct aci_hist *next;
};

struct mock_aci {
    struct aci_hist *files;
};

void mock_aci_free(struct mock_aci *a)
{
    for (struct aci_hist *h = a ? a->files : NULL, *nx; h != NULL; h = nx) {
        nx = h->next;
        for (int i = 0; i < h->n; i++)
            free(h->versions[i]);
        free(h);
    }
    free(a);
}

static struct aci_hist *hist(struct as_ctx *c, const char *host, bool make)
{
    struct mock_aci **slot = mock_term_aci_slot(c->sb);
    if (slot == NULL || (*slot == NULL && (!make || (*slot = calloc(1, sizeof **slot)) == NULL)))
        return NULL;
    for (struct aci_hist *h = (*slot)->files; h != NULL; h = h->next)
        if (strcmp(h->path, host) == 0)
            return h;
    struct aci_hist *h = make ? calloc(1, sizeof *h) : NULL;
    if (h != NULL) {
        snprintf(h->path, sizeof h->path, "%s", host);
        h->next = (*slot)->files;
        (*slot)->files = h;
    }
    return h;
}

static void hist_add(struct as_ctx *c, const char *host, const char *text)
{
    struct aci_hist *h = hist(c, host, true);
    if (h == NULL)
        return;
    if (h->n == MAX_HISTORY) {
        free(h->versions[0]);
        memmove(h->versions, h->versions + 1, (MAX_HISTORY - 1) * sizeof h->versions[0]);
        h->n--;
    }
    h->versions[h->n] = strdup(text);
    h->n += h->versions[h->n] != NULL;
}

/* text.split('\n') as pointers and lengths; returns the count (at least 1). */
static size_t split_items(const char *t, const char ***it, size_t **len)
{
    size_t n = 1;
    for (const char *p = t; *p; p++)
        n += *p == '\n';
    *it = calloc(n, sizeof **it);
    *len = calloc(n, sizeof **len);
    if (*it == NULL || *len == NULL)
        return 0;
    for (size_t i = 0; i < n; i++) {
        (*it)[i] = t;
        (*len)[i] = strcspn(t, "\n");
        t += (*len)[i] + (t[(*len)[i]] == '\n');
    }
    return n;
}

static void hunk_range(struct sp_buf *out, size_t start, size_t n)
{
    if (n == 1)
        sp_buf_printf(out, "%zu", start + 1);
    else
        sp_buf_printf(out, "%zu,%zu", n ? start + 1 : start, n);
}

/* difflib.unified_diff(old.split('\n'), new.split('\n'), n=0), lines rstripped: one hunk
 * between the common leading and trailing lines. */
static void get_diff(const char *old, const char *new_, const char *path, struct sp_buf *out)
{
    const char **a = NULL, **b = NULL;
    size_t *al = NULL, *bl = NULL;
    size_t na = split_items(old, &a, &al), nb = split_items(new_, &b, &bl), p = 0, s = 0;
    if (strcmp(old, new_) == 0 || na == 0 || nb == 0)
        goto out;
    while (p < na && p < nb && al[p] == bl[p] && memcmp(a[p], b[p], al[p]) == 0)
        p++;
    while (s < na - p && s < nb - p && al[na - 1 - s] == bl[nb - 1 - s] &&
           memcmp(a[na - 1 - s], b[nb - 1 - s], al[na - 1 - s]) == 0)
        s++;
    sp_buf_printf(out, "--- %s\n+++ %s\n@@ -", path, path);
    hunk_range(out, p, na - p - s);
    sp_buf_puts(out, " +");
    hunk_range(out, p, nb - p - s);
    sp_buf_puts(out, " @@");
    for (int side = 0; side < 2; side++) {
        const char **it = side ? b : a;
        size_t *ln = side ? bl : al, end = (side ? nb : na) - s;
        for (size_t i = p; i < end; i++) {
            size_t l = ln[i];
            while (l > 0 && strchr(" \t\r\v\f", it[i][l - 1]) != NULL)
                l--;
            sp_buf_printf(out, "\n%c%.*s", side ? '+' : '-', (int)l, it[i]);
        }
    }
out:
    free(a);
    free(b);
    free(al);
    free(bl);
}

static int write_text(const char *host, const char *path, const char *text, struct sp_buf *err)
{
    if (mock_write_file(host, text, strlen(text), 0644, false) != 0) {
        sp_buf_printf(err,
                      "Ran into [Errno 2] No such file or directory: '%s' while trying to "
                      "write to %s",
                      path, path);
        return -1;
    }
    return 0;
}

/* --- edit ------------------------------------------------------------------------------------ */

static const char *str_arg(const cJSON *args, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Offsets of the non-overlapping occurrences of needle (re.finditer of the escaped text). */
static size_t occurrences(const char *hay, const char *needle, size_t *first, struct sp_buf *lines)
{
    size_t n = 0, nl = strlen(needle);
    long last_line = -1;
    if (nl == 0)
        return 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += nl) {
        long line = 1;
        for (const char *q = hay; q < p; q++)
            line += *q == '\n';
        if (n++ == 0)
            *first = (size_t)(p - hay);
        if (line != last_line)
            sp_buf_printf(lines, "%s%ld", last_line < 0 ? "" : ", ", line);
        last_line = line;
    }
    return n;
}

static char *strip_dup(const char *s)
{
    const char *b = s + strspn(s, " \t\n\r\v\f");
    size_t n = strlen(b);
    while (n > 0 && strchr(" \t\n\r\v\f", b[n - 1]) != NULL)
        n--;
    return strndup(b, n);
}

static void str_replace(struct as_ctx *c,
                        const char *path,
                        const char *host,
                        const char *old_in,
                        const char *new_in,
                        struct sp_buf *o,
                        struct sp_buf *err,
                        struct sp_buf *before,
                        struct sp_buf *after)
{
    if (mock_read_file(host, before) != 0)
        return;
    const char *text = sp_buf_str(before);
    char *old_s = strdup(old_in), *new_s = strdup(new_in ? new_in : "");
    struct sp_buf lines;
    sp_buf_init(&lines, 0);
    size_t at = 0, n = occurrences(text, old_s, &at, &lines);
    if (n == 0) {
        char *o2 = strip_dup(old_s), *n2 = strip_dup(new_s);
        free(old_s), free(new_s);
        old_s = o2, new_s = n2;
        sp_buf_reset(&lines);
        n = occurrences(text, old_s, &at, &lines);
    }
    if (n == 0) {
        sp_buf_printf(err,
                      "No replacement was performed, old_str `%s` did not appear verbatim "
                      "in %s.",
                      old_s, path);
    } else if (n > 1) {
        sp_buf_printf(err,
                      "No replacement was performed. Multiple occurrences of old_str `%s` in "
                      "lines [%s]. Please ensure it is unique.",
                      old_s, sp_buf_str(&lines));
    } else {
        sp_buf_append(after, text, at);
        sp_buf_puts(after, new_s);
        sp_buf_puts(after, text + at + strlen(old_s));
        if (write_text(host, path, sp_buf_str(after), err) == 0) {
            hist_add(c, host, text);
            long line = 1, nls = 0;
            for (size_t i = 0; i < at; i++)
                line += text[i] == '\n';
            for (const char *p = new_s; *p; p++)
                nls += *p == '\n';
            long start = line - ACI_CONTEXT > 0 ? line - ACI_CONTEXT : 0,
                 end = line + ACI_CONTEXT + nls;
            struct sp_buf snip, desc;
            sp_buf_init(&snip, 0);
            sp_buf_init(&desc, 0);
            aci_line_range(sp_buf_str(after), start + 1, end, &snip);
            sp_buf_printf(&desc, "a snippet of %s", path);
            sp_buf_printf(o, "The file %s has been edited. ", path);
            aci_make_output(o, sp_buf_str(&snip), sp_buf_str(&desc), start + 1);
            sp_buf_puts(o, "Review the changes and make sure they are as expected. Edit the file "
                           "again if necessary.");
            sp_buf_cleanup(&snip);
            sp_buf_cleanup(&desc);
        }
    }
    sp_buf_cleanup(&lines);
    free(old_s);
    free(new_s);
}

static void insert(struct as_ctx *c,
                   const char *path,
                   const char *host,
                   long at,
                   const char *new_s,
                   struct sp_buf *o,
                   struct sp_buf *err,
                   struct sp_buf *before,
                   struct sp_buf *after)
{
    if (mock_read_file(host, before) != 0)
        return;
    const char *text = sp_buf_str(before);
    long lines = aci_count_lines(text), new_lines = 1;
    if (at < 0 || at > lines) {
        sp_buf_printf(err,
                      "Invalid `insert_line` parameter: %ld. It should be within the range of "
                      "allowed values: [0, %ld]",
                      at, lines);
        return;
    }
    aci_line_range(text, 1, at, after);
    for (const char *p = new_s;; p++) {
        size_t len = strcspn(p, "\n");
        sp_buf_append(after, p, len);
        sp_buf_puts(after, "\n");
        p += len;
        if (*p == '\0')
            break;
        new_lines++;
    }
    aci_line_range(text, at + 1, lines, after);
    if (write_text(host, path, sp_buf_str(after), err) != 0)
        return;
    hist_add(c, host, text);
    long start = at - ACI_CONTEXT > 0 ? at - ACI_CONTEXT : 0;
    long end = lines + new_lines < at + ACI_CONTEXT + new_lines ? lines + new_lines
                                                                : at + ACI_CONTEXT + new_lines;
    struct sp_buf snip;
    sp_buf_init(&snip, 0);
    aci_line_range(sp_buf_str(after), start + 1, end, &snip);
    sp_buf_printf(o, "The file %s has been edited. ", path);
    aci_make_output(o, sp_buf_str(&snip), "a snippet of the edited file",
                    at - ACI_CONTEXT + 1 > 1 ? at - ACI_CONTEXT + 1 : 1);
    sp_buf_puts(o, "Review the changes and make sure they are as expected (correct indentation, "
                   "no duplicate lines, etc). Edit the file again if necessary.");
    sp_buf_cleanup(&snip);
}

static void undo(struct as_ctx *c,
                 const char *path,
                 const char *host,
                 struct sp_buf *o,
                 struct sp_buf *err,
                 struct sp_buf *before,
                 struct sp_buf *after)
{
    if (mock_read_file(host, before) != 0)
        return;
    struct aci_hist *h = hist(c, host, false);
    if (h == NULL || h->n == 0) {
        sp_buf_printf(err, "No edit history found for %s.", path);
        return;
    }
    char *old = h->versions[--h->n];
    if (write_text(host, path, old, err) == 0) {
        sp_buf_puts(after, old);
        sp_buf_printf(o, "Last edit to %s undone successfully. ", path);
        aci_make_output(o, old, path, 1);
    }
    free(old);
}

static enum aci_cmd parse_cmd(const char *s, bool *ok)
{
    static const char *const names[] = {"view", "create", "str_replace", "insert", "undo_edit"};
    *ok = true;
    for (int i = 0; s != NULL && i < 5; i++)
        if (strcmp(s, names[i]) == 0)
            return (enum aci_cmd)i;
    *ok = false;
    return ACI_VIEW;
}

/* Runs the command; *content is the text for the observation (ERROR:\n... on failure). */
static void edit_run(struct as_ctx *c,
                     const cJSON *args,
                     const char *path,
                     struct sp_buf *content,
                     struct sp_buf *before,
                     struct sp_buf *after)
{
    struct sp_buf o, err;
    sp_buf_init(&o, 0);
    sp_buf_init(&err, 0);
    char host[2048];
    bool ok;
    const char *cmd_s = str_arg(args, "command");
    enum aci_cmd cmd = parse_cmd(cmd_s, &ok);
    const char *file_text = str_arg(args, "file_text"), *old_s = str_arg(args, "old_str");
    const char *new_s = str_arg(args, "new_str");
    const cJSON *il = cJSON_GetObjectItemCaseSensitive(args, "insert_line");
    long at = 0;
    if (cJSON_IsString(il)) { /* action_execution_server.py:129-137 */
        char *end = NULL;
        at = strtol(il->valuestring, &end, 10);
        if (end == il->valuestring || *end != '\0')
            sp_buf_printf(&err, "Invalid insert_line value: '%s'. Expected an integer.",
                          il->valuestring);
    } else if (cJSON_IsNumber(il)) {
        at = (long)il->valuedouble;
    }
    if (mock_sandbox_host_path(c->sb, c->workdir, path, host, sizeof host) != 0)
        host[0] = '\0';
    if (err.len == 0)
        aci_validate(c, cmd, path, host, &err);
    if (err.len > 0) {
        /* reported below */
    } else if (!ok) {
        sp_buf_printf(&err,
                      "Unrecognized command %s. The allowed commands for the oh_editor tool "
                      "are: view, create, str_replace, insert, undo_edit",
                      cmd_s ? cmd_s : "None");
    } else if (cmd == ACI_VIEW) {
        struct sp_buf text;
        sp_buf_init(&text, 0);
        struct stat st;
        if (stat(host, &st) == 0 && S_ISDIR(st.st_mode))
            aci_view_dir(path, host, &o);
        else if (mock_read_file(host, &text) == 0)
            aci_view_file(path, sp_buf_str(&text), NULL, &o, &err);
        sp_buf_cleanup(&text);
    } else if (cmd == ACI_CREATE) {
        if (file_text == NULL)
            sp_buf_puts(&err, "Parameter `file_text` is required for command: create.");
        else if (write_text(host, path, file_text, &err) == 0) {
            hist_add(c, host, file_text);
            sp_buf_puts(after, file_text);
            sp_buf_printf(&o, "File created successfully at: %s", path);
        }
    } else if (cmd == ACI_STR_REPLACE) {
        if (old_s == NULL)
            sp_buf_puts(&err, "Parameter `old_str` is required for command: str_replace.");
        else if (new_s != NULL && strcmp(new_s, old_s) == 0)
            sp_buf_printf(&err,
                          "Invalid `new_str` parameter: %s. No replacement was performed. "
                          "`new_str` and `old_str` must be different.",
                          new_s);
        else
            str_replace(c, path, host, old_s, new_s, &o, &err, before, after);
    } else if (cmd == ACI_INSERT) {
        if (il == NULL || cJSON_IsNull(il))
            sp_buf_puts(&err, "Parameter `insert_line` is required for command: insert.");
        else if (new_s == NULL)
            sp_buf_puts(&err, "Parameter `new_str` is required for command: insert.");
        else
            insert(c, path, host, at, new_s, &o, &err, before, after);
    } else {
        undo(c, path, host, &o, &err, before, after);
    }
    if (err.len > 0) {
        sp_buf_printf(content, "ERROR:\n%s", sp_buf_str(&err));
        sp_buf_reset(before);
        sp_buf_reset(after);
    } else {
        sp_buf_puts(content, sp_buf_str(&o));
    }
    sp_buf_cleanup(&o);
    sp_buf_cleanup(&err);
}

cJSON *as_action_edit(struct as_ctx *c, const cJSON *args)
{
    const char *path = str_arg(args, "path");
    struct sp_buf content, before, after, diff, msg;
    sp_buf_init(&content, 0);
    sp_buf_init(&before, 0);
    sp_buf_init(&after, 0);
    sp_buf_init(&diff, 0);
    sp_buf_init(&msg, 0);
    edit_run(c, args, path, &content, &before, &after);
    get_diff(sp_buf_str(&before), sp_buf_str(&after), path, &diff);
    sp_buf_printf(&msg, "I edited the file %s.", path);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "message", sp_buf_str(&msg));
    cJSON_AddStringToObject(o, "observation", "edit");
    cJSON_AddStringToObject(o, "content", sp_buf_str(&content));
    cJSON *ex = cJSON_AddObjectToObject(o, "extras");
    cJSON_AddStringToObject(ex, "path", path);
    cJSON_AddBoolToObject(ex, "prev_exist", false);
    const char *keys[2] = {"old_str", "new_str"}, *outk[2] = {"old_content", "new_content"};
    for (int i = 0; i < 2; i++) {
        const char *v = str_arg(args, keys[i]);
        cJSON_AddItemToObject(ex, outk[i], v ? cJSON_CreateString(v) : cJSON_CreateNull());
    }
    cJSON_AddStringToObject(ex, "impl_source", "oh_aci");
    cJSON_AddStringToObject(ex, "diff", sp_buf_str(&diff));
    cJSON_AddNullToObject(ex, "_diff_cache");
    sp_buf_cleanup(&content);
    sp_buf_cleanup(&before);
    sp_buf_cleanup(&after);
    sp_buf_cleanup(&diff);
    sp_buf_cleanup(&msg);
    return o;
}
