/* The E2B mock's filesystem.Filesystem service over Connect unary JSON (spec/e2b-modal.md
 * A3): Stat, ListDir, MakeDir, Remove, Move, and the Connect unary request/error helpers that
 * e2b_process.c shares. EntryInfo is rendered as connect-go's protojson does: lowerCamelCase,
 * zero values omitted, int64 as strings, enums by name, RFC 3339 timestamps. */
#include "e2b_int.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hostfs.h"
#include "json.h"

#define LISTDIR_MAX_ENTRIES 100000 /* a runaway walk stops here */

/* Connect code -> HTTP status (spec A3 table). */
static int connect_status(const char *code)
{
    static const struct {
        const char *code;
        int status;
    } map[] = {
        {"canceled", 499},
        {"unknown", 500},
        {"invalid_argument", 400},
        {"deadline_exceeded", 504},
        {"not_found", 404},
        {"already_exists", 409},
        {"permission_denied", 403},
        {"resource_exhausted", 429},
        {"failed_precondition", 400},
        {"aborted", 409},
        {"out_of_range", 400},
        {"unimplemented", 501},
        {"internal", 500},
        {"unavailable", 503},
        {"data_loss", 500},
        {"unauthenticated", 401},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i].code, code) == 0)
            return map[i].status;
    return 500;
}

void e2b_connect_error(struct mock_req *r, const char *code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    if (o) {
        cJSON_AddStringToObject(o, "code", code);
        cJSON_AddStringToObject(o, "message", msg);
    }
    mock_reply_cjson(r, connect_status(code), o);
}

cJSON *e2b_connect_request(struct mock_req *r)
{
    const char *ctype = mock_req_header(r, "Content-Type");
    if (ctype == NULL || strncasecmp(ctype, "application/json", 16) != 0 ||
        (ctype[16] != '\0' && ctype[16] != ';')) {
        mock_reply_header(r, "Accept-Post", "application/json, application/proto");
        mock_reply(r, 415, "text/plain; charset=utf-8", "", 0);
        return NULL;
    }
    struct sp_error err = {0};
    cJSON *root = sp_json_parse_type(r->body.data, r->body.len, cJSON_Object, "request", &err);
    if (root == NULL)
        e2b_connect_error(r, "invalid_argument", "unmarshal message: %s", err.msg);
    return root;
}

/* A string field of the request, "" when absent; false (and a reply) when mistyped. */
static bool req_str(struct mock_req *r, const cJSON *req, const char *key, const char **out)
{
    struct sp_error err = {0};
    *out = "";
    if (sp_json_get_str(req, key, false, out, "request", &err) == 0)
        return true;
    e2b_connect_error(r, "invalid_argument", "unmarshal message: %s", err.msg);
    return false;
}

/* --- EntryInfo ----------------------------------------------------------------------------- */

/* Go's FileMode.String(): type letters, then rwx triplets. */
static void mode_string(mode_t m, char *out)
{
    size_t o = 0;
    if (S_ISDIR(m))
        out[o++] = 'd';
    if (S_ISLNK(m))
        out[o++] = 'L';
    if (S_ISBLK(m))
        out[o++] = 'D';
    if (S_ISCHR(m))
        out[o++] = 'D', out[o++] = 'c';
    if (S_ISFIFO(m))
        out[o++] = 'p';
    if (S_ISSOCK(m))
        out[o++] = 'S';
    if (m & S_ISUID)
        out[o++] = 'u';
    if (m & S_ISGID)
        out[o++] = 'g';
    if (m & 01000) /* S_ISVTX, which _POSIX_C_SOURCE alone does not declare */
        out[o++] = 't';
    if (o == 0)
        out[o++] = '-';
    for (int i = 8; i >= 0; i--)
        out[o++] = (m & (1u << i)) ? "xwr"[i % 3] : '-';
    out[o] = '\0';
}

/* protojson Timestamp: RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits. */
static void format_timestamp(const struct timespec *ts, char *out, size_t len)
{
    struct tm tm;
    time_t secs = ts->tv_sec;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
    long ns = ts->tv_nsec;
    if (ns == 0)
        snprintf(out + n, len - n, "Z");
    else if (ns % 1000000 == 0)
        snprintf(out + n, len - n, ".%03ldZ", ns / 1000000);
    else if (ns % 1000 == 0)
        snprintf(out + n, len - n, ".%06ldZ", ns / 1000);
    else
        snprintf(out + n, len - n, ".%09ldZ", ns);
}

/* Files the mock itself owns belong to the sandbox's default user, as everything the SDK
 * writes does in a real sandbox. */
static void owner_names(const struct stat *st, char *owner, char *group, size_t len)
{
    struct passwd pw, *pwp = NULL;
    struct group gr, *grp = NULL;
    char buf[1024];
    if (st->st_uid == geteuid())
        snprintf(owner, len, E2B_DEFAULT_USER);
    else if (getpwuid_r(st->st_uid, &pw, buf, sizeof buf, &pwp) == 0 && pwp)
        snprintf(owner, len, "%s", pwp->pw_name);
    else
        snprintf(owner, len, "%u", (unsigned)st->st_uid);
    if (st->st_gid == getegid())
        snprintf(group, len, E2B_DEFAULT_USER);
    else if (getgrgid_r(st->st_gid, &gr, buf, sizeof buf, &grp) == 0 && grp)
        snprintf(group, len, "%s", grp->gr_name);
    else
        snprintf(group, len, "%u", (unsigned)st->st_gid);
}

static const char *file_type(mode_t m)
{
    return S_ISDIR(m)   ? "FILE_TYPE_DIRECTORY"
           : S_ISLNK(m) ? "FILE_TYPE_SYMLINK"
           : S_ISREG(m) ? "FILE_TYPE_FILE"
                        : "FILE_TYPE_UNSPECIFIED";
}

static cJSON *build_entry(const struct mock_sandbox *sb,
                          const char *guest,
                          const char *host,
                          const struct stat *st)
{
    char perms[16], owner[64], group[64], mtime[48], num[32];
    const char *slash = strrchr(guest, '/');
    mode_string(st->st_mode, perms);
    owner_names(st, owner, group, sizeof owner);
    format_timestamp(&st->st_mtim, mtime, sizeof mtime);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "name", slash && slash[1] ? slash + 1 : guest);
    cJSON_AddStringToObject(e, "type", file_type(st->st_mode));
    cJSON_AddStringToObject(e, "path", guest);
    if (st->st_size != 0) {
        snprintf(num, sizeof num, "%lld", (long long)st->st_size);
        cJSON_AddStringToObject(e, "size", num);
    }
    if ((st->st_mode & 0777) != 0)
        cJSON_AddNumberToObject(e, "mode", st->st_mode & 0777);
    cJSON_AddStringToObject(e, "permissions", perms);
    cJSON_AddStringToObject(e, "owner", owner);
    cJSON_AddStringToObject(e, "group", group);
    cJSON_AddStringToObject(e, "modifiedTime", mtime);
    if (S_ISLNK(st->st_mode)) {
        char target[1024], tguest[1024];
        ssize_t n = mock_fs_readlink(sb, host, target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
        mock_sandbox_guest_path(sb, target, tguest, sizeof tguest);
        cJSON_AddStringToObject(e, "symlinkTarget", target[0] == '/' ? tguest : target);
    }
    return e;
}

/* Resolves the "path" of a request; replies and returns false when it cannot. */
static bool req_path(struct mock_req *r,
                     struct mock_sandbox *sb,
                     const struct e2b_user *u,
                     const cJSON *req,
                     const char *key,
                     char *guest,
                     char *host)
{
    const char *path;
    if (!req_str(r, req, key, &path))
        return false;
    if (e2b_resolve_path(sb, u, path, guest, 1024, host, 2048) == 0)
        return true;
    e2b_connect_error(r, "invalid_argument", "failed to expand path '%s' for user '%s'", path,
                      u->name);
    return false;
}

static void
reply_entry(struct mock_req *r, struct mock_sandbox *sb, const char *guest, const char *host)
{
    struct stat st;
    if (mock_fs_lstat(sb, host, &st) != 0) {
        e2b_connect_error(r, "not_found", "file not found: lstat %s: %s", guest, strerror(errno));
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "entry", build_entry(sb, guest, host, &st));
    mock_reply_cjson(r, 200, o);
}

static void
fs_stat(struct mock_req *r, struct mock_sandbox *sb, const struct e2b_user *u, const cJSON *req)
{
    char guest[1024], host[2048];
    if (req_path(r, sb, u, req, "path", guest, host))
        reply_entry(r, sb, guest, host);
}

/* --- ListDir ------------------------------------------------------------------------------- */

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends the entries below host/guest in lexical order, depth-first, as Go's WalkDir. */
static int walk_dir(const struct mock_sandbox *sb,
                    const char *guest,
                    const char *host,
                    int depth,
                    int max_depth,
                    cJSON *out)
{
    DIR *d = mock_fs_opendir(sb, host);
    if (d == NULL)
        return -1;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **p = realloc(names, cap * sizeof *p);
            if (p == NULL)
                break;
            names = p;
        }
        names[n] = strdup(de->d_name);
        n += names[n] != NULL;
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_names);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char cg[1024], ch[2048];
        struct stat st;
        int a = snprintf(cg, sizeof cg, "%s/%s", strcmp(guest, "/") ? guest : "", names[i]);
        int b = snprintf(ch, sizeof ch, "%s/%s", host, names[i]);
        if (rc == 0 && a < (int)sizeof cg && b < (int)sizeof ch &&
            mock_fs_lstat(sb, ch, &st) == 0 && cJSON_GetArraySize(out) < LISTDIR_MAX_ENTRIES) {
            cJSON_AddItemToArray(out, build_entry(sb, cg, ch, &st));
            if (S_ISDIR(st.st_mode) && depth < max_depth)
                rc = walk_dir(sb, cg, ch, depth + 1, max_depth, out);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

static void
fs_list_dir(struct mock_req *r, struct mock_sandbox *sb, const struct e2b_user *u, const cJSON *req)
{
    char guest[1024], host[2048];
    int64_t depth = 0;
    struct sp_error err = {0};
    const cJSON *dj = cJSON_GetObjectItemCaseSensitive(req, "depth");
    if (cJSON_IsString(dj)) /* protojson accepts integers as strings too */
        depth = strtoll(dj->valuestring, NULL, 10);
    else if (sp_json_get_int(req, "depth", false, &depth, "request", &err) != 0) {
        e2b_connect_error(r, "invalid_argument", "unmarshal message: %s", err.msg);
        return;
    }
    if (!req_path(r, sb, u, req, "path", guest, host))
        return;
    struct stat st;
    if (mock_fs_stat(sb, host, &st) != 0) {
        e2b_connect_error(r, "not_found", "path not found: lstat %s: %s", guest, strerror(errno));
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        e2b_connect_error(r, "invalid_argument", "path is not a directory: %s", guest);
        return;
    }
    cJSON *entries = cJSON_CreateArray();
    if (walk_dir(sb, guest, host, 1, depth < 1 ? 1 : (int)(depth > 64 ? 64 : depth), entries) !=
        0) {
        cJSON_Delete(entries);
        e2b_connect_error(r, "internal", "error reading directory %s: %s", guest, strerror(errno));
        return;
    }
    cJSON *o = cJSON_CreateObject();
    if (cJSON_GetArraySize(entries) > 0) /* an empty repeated field is omitted */
        cJSON_AddItemToObject(o, "entries", entries);
    else
        cJSON_Delete(entries);
    mock_reply_cjson(r, 200, o);
}

/* --- MakeDir, Remove, Move ----------------------------------------------------------------- */

int e2b_make_dirs(const struct mock_sandbox *sb, const char *guest, char *err, size_t len)
{
    char sub[1024], host[2048];
    for (const char *p = guest + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        snprintf(sub, sizeof sub, "%.*s", (int)(p - guest), guest);
        struct stat st;
        if (mock_sandbox_host_path(sb, "/", sub, host, sizeof host) != 0)
            return snprintf(err, len, "invalid path %s", sub), -1;
        if (mock_fs_stat(sb, host, &st) == 0 && !S_ISDIR(st.st_mode))
            return snprintf(err, len, "path is a file: %s", sub), -1;
        if (mock_fs_mkdir(sb, host, 0755) == 0)
            mock_fs_chmod(sb, host, 0755); /* whatever the mock's umask */
        else if (errno != EEXIST)
            return snprintf(err, len, "failed to create directory: %s", strerror(errno)), -1;
        if (*p == '\0')
            return 0;
    }
}

static void
fs_make_dir(struct mock_req *r, struct mock_sandbox *sb, const struct e2b_user *u, const cJSON *req)
{
    char guest[1024], host[2048], err[256];
    if (!req_path(r, sb, u, req, "path", guest, host))
        return;
    struct stat st;
    if (mock_fs_stat(sb, host, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            e2b_connect_error(r, "already_exists", "directory already exists: %s", guest);
        else
            e2b_connect_error(r, "invalid_argument",
                              "path already exists but it is not a directory: %s", guest);
        return;
    }
    if (e2b_make_dirs(sb, guest, err, sizeof err) != 0) {
        e2b_connect_error(r, "internal", "%s", err);
        return;
    }
    const char *slash = strrchr(guest, '/');
    cJSON *o = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(o, "entry");
    cJSON_AddStringToObject(e, "name", slash ? slash + 1 : guest);
    cJSON_AddStringToObject(e, "type", "FILE_TYPE_DIRECTORY");
    cJSON_AddStringToObject(e, "path", guest);
    mock_reply_cjson(r, 200, o);
}

static void
fs_remove(struct mock_req *r, struct mock_sandbox *sb, const struct e2b_user *u, const cJSON *req)
{
    char guest[1024], host[2048];
    if (!req_path(r, sb, u, req, "path", guest, host))
        return;
    struct stat st;
    if (strcmp(guest, "/") == 0) {
        e2b_connect_error(r, "permission_denied", "refusing to remove /");
    } else if (mock_fs_lstat(sb, host, &st) != 0) {
        e2b_connect_error(r, "not_found", "file or directory not found: remove %s: %s", guest,
                          strerror(errno));
    } else if (mock_fs_remove_all(sb, host) != 0) {
        e2b_connect_error(r, "internal", "error removing file or directory: %s", strerror(errno));
    } else {
        mock_reply_json(r, 200, "{}");
    }
}

static void
fs_move(struct mock_req *r, struct mock_sandbox *sb, const struct e2b_user *u, const cJSON *req)
{
    char sguest[1024], shost[2048], dguest[1024], dhost[2048], err[256];
    if (!req_path(r, sb, u, req, "source", sguest, shost) ||
        !req_path(r, sb, u, req, "destination", dguest, dhost))
        return;
    struct stat st;
    if (mock_fs_lstat(sb, shost, &st) != 0) {
        e2b_connect_error(r, "not_found", "source file not found: %s", sguest);
        return;
    }
    char parent[1024];
    snprintf(parent, sizeof parent, "%s", dguest);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = '\0';
        if (e2b_make_dirs(sb, parent, err, sizeof err) != 0) {
            e2b_connect_error(r, "internal", "error creating destination directory: %s", err);
            return;
        }
    }
    if (mock_fs_rename(sb, shost, dhost) != 0)
        e2b_connect_error(r, "internal", "error renaming: %s", strerror(errno));
    else
        reply_entry(r, sb, dguest, dhost);
}

void e2b_fs_rpc(struct mock_req *r,
                struct mock_sandbox *sb,
                const struct e2b_user *u,
                const char *method)
{
    static const struct {
        const char *name;
        void (*fn)(struct mock_req *,
                   struct mock_sandbox *,
                   const struct e2b_user *,
                   const cJSON *);
    } rpcs[] = {{"Stat", fs_stat},
                {"ListDir", fs_list_dir},
                {"MakeDir", fs_make_dir},
                {"Remove", fs_remove},
                {"Move", fs_move}};
    for (size_t i = 0; i < sizeof rpcs / sizeof rpcs[0]; i++) {
        if (strcmp(method, rpcs[i].name) != 0)
            continue;
        cJSON *req = e2b_connect_request(r);
        if (req)
            rpcs[i].fn(r, sb, u, req);
        cJSON_Delete(req);
        return;
    }
    if (strcmp(method, "WatchDir") == 0)
        e2b_connect_stream_error(r, "unimplemented",
                                 "filesystem.Filesystem.WatchDir is not "
                                 "supported by the mock");
    else if (strcmp(method, "CreateWatcher") == 0 || strcmp(method, "GetWatcherEvents") == 0 ||
             strcmp(method, "RemoveWatcher") == 0)
        e2b_connect_error(r, "unimplemented",
                          "filesystem.Filesystem.%s is not supported by "
                          "the mock",
                          method);
    else
        mock_reply(r, 404, "text/plain; charset=utf-8", "404 page not found\n", 19);
}
