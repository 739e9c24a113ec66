/* Requirements of the files step: text and binary round trips, listing, nested paths,
 * missing files, the text-write newline rule, and stat / mkdir / remove where offered.
 * Paths are relative, so they resolve against the sandbox's working directory; binary data
 * goes through UPLOAD/DOWNLOAD (byte-exact), text through WRITE/READ. */
#include "runner.h"

#include <stdio.h>

static struct sp_files *file_op(struct sp_req_ctx *ctx,
                                struct sp_sandbox *sb,
                                enum sp_file_kind kind,
                                const char *path,
                                const void *data,
                                size_t len,
                                enum sp_err want)
{
    struct sp_files *f = sp_req_files(ctx, kind, path);
    f->data = data;
    f->len = len;
    SP_REQUIRE_ERR(ctx, sp_files(sb, f, sp_req_err(ctx)), want);
    return f;
}

static void
write_text(struct sp_req_ctx *ctx, struct sp_sandbox *sb, const char *path, const char *text)
{
    file_op(ctx, sb, SP_FILE_WRITE, path, text, strlen(text), SP_E_OK);
}

static void upload(
    struct sp_req_ctx *ctx, struct sp_sandbox *sb, const char *path, const void *data, size_t len)
{
    file_op(ctx, sb, SP_FILE_UPLOAD, path, data, len, SP_E_OK);
}

static struct sp_files *download(struct sp_req_ctx *ctx, struct sp_sandbox *sb, const char *path)
{
    return file_op(ctx, sb, SP_FILE_DOWNLOAD, path, NULL, 0, SP_E_OK);
}

/* Creates directories with a command, so checks of other operations do not depend on
 * parents being created implicitly (that is files.nested_parents_created). */
static void mkdirs(struct sp_req_ctx *ctx, struct sp_sandbox *sb, const char *path)
{
    struct sp_exec *x = SP_EXEC_OK(ctx, sb, sp_req_printf(ctx, "mkdir -p %s", path));
    SP_REQUIRE_INT_EQ(ctx, x->exit_code, 0);
}

/* What a text write of text leaves in the file under the provider's newline rule. */
static const char *as_written(struct sp_req_ctx *ctx, const char *text)
{
    bool newline = (sp_req_caps(ctx) & SP_CAP_WRITE_NEWLINE) != 0;
    return sp_req_printf(ctx, "%s%s", text, newline ? "\n" : "");
}

static const struct sp_file_entry *find_entry(const struct sp_files *f, const char *name)
{
    for (size_t i = 0; i < f->n_entries; i++) {
        if (strcmp(f->entries[i].name, name) == 0)
            return &f->entries[i];
    }
    return NULL;
}

static const char *entry_names(struct sp_req_ctx *ctx, const struct sp_files *f)
{
    const char *s = "";
    for (size_t i = 0; i < f->n_entries; i++)
        s = sp_req_printf(ctx, "%s%s%s%s", s, i ? ", " : "", f->entries[i].name,
                          f->entries[i].is_dir ? "/" : "");
    return s;
}

static void require_entry(
    struct sp_req_ctx *ctx, const struct sp_files *f, const char *name, bool is_dir, int64_t size)
{
    const struct sp_file_entry *e = find_entry(f, name);
    SP_REQUIRE(ctx, e != NULL, "expected an entry \"%s\" in the listing, got [%s]", name,
               entry_names(ctx, f));
    SP_REQUIRE(ctx, e->is_dir == is_dir, "expected \"%s\" to be a %s, got a %s", name,
               is_dir ? "directory" : "file", e->is_dir ? "directory" : "file");
    if (!is_dir && size >= 0)
        SP_REQUIRE(ctx, e->size == -1 || e->size == size,
                   "expected \"%s\" to have %lld bytes (or no size), got %lld", name,
                   (long long)size, (long long)e->size);
}

/* 64 KiB in which every byte value occurs many times, in no simple repeating order. */
static unsigned char *binary_pattern(struct sp_req_ctx *ctx, size_t len)
{
    unsigned char *b = sp_req_alloc(ctx, len);
    for (size_t i = 0; i < len; i++)
        b[i] = (unsigned char)((i * 131u) + (i >> 8));
    return b;
}

static void files_write_read(struct sp_req_ctx *ctx)
{
    static const char text[] = "sandprobe round trip\nsecond line \xe2\x9c\x93\n\tthird";
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    write_text(ctx, sb, "sp_round_trip.txt", text);
    struct sp_files *f = file_op(ctx, sb, SP_FILE_READ, "sp_round_trip.txt", NULL, 0, SP_E_OK);
    SP_REQUIRE_STR_EQ(ctx, sp_buf_str(&f->content), as_written(ctx, text));
}

static void files_binary_round_trip(struct sp_req_ctx *ctx)
{
    enum { LEN = 65536 };
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    const unsigned char *data = binary_pattern(ctx, LEN);
    upload(ctx, sb, "sp_binary.bin", data, LEN);
    struct sp_files *f = download(ctx, sb, "sp_binary.bin");
    SP_REQUIRE_MEM_EQ(ctx, f->content.data, f->content.len, data, (size_t)LEN);
}

static void files_write_newline_rule(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    write_text(ctx, sb, "sp_newline.txt", "no-newline");
    struct sp_files *f = download(ctx, sb, "sp_newline.txt");
    const char *want = as_written(ctx, "no-newline");
    SP_REQUIRE_MEM_EQ(ctx, f->content.data, f->content.len, want, strlen(want));
}

static void files_list(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    mkdirs(ctx, sb, "sp_list/sub");
    upload(ctx, sb, "sp_list/one.txt", "one", 3);
    upload(ctx, sb, "sp_list/two.txt", "two!", 4);
    upload(ctx, sb, "sp_list/sub/three.txt", "three", 5);
    struct sp_files *f = file_op(ctx, sb, SP_FILE_LIST, "sp_list", NULL, 0, SP_E_OK);
    require_entry(ctx, f, "one.txt", false, 3);
    require_entry(ctx, f, "two.txt", false, 4);
    require_entry(ctx, f, "sub", true, -1);
    SP_REQUIRE(ctx, find_entry(f, "three.txt") == NULL, "expected a listing of one level, got [%s]",
               entry_names(ctx, f));
}

static void files_nested_parents_created(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    write_text(ctx, sb, "sp_nested/a/b/c/deep.txt", "deep");
    struct sp_files *f =
        file_op(ctx, sb, SP_FILE_READ, "sp_nested/a/b/c/deep.txt", NULL, 0, SP_E_OK);
    SP_REQUIRE_STR_EQ(ctx, sp_buf_str(&f->content), as_written(ctx, "deep"));
    upload(ctx, sb, "sp_nested2/x/y/z.bin", "\x00\x01\x02", 3);
    f = download(ctx, sb, "sp_nested2/x/y/z.bin");
    SP_REQUIRE_MEM_EQ(ctx, f->content.data, f->content.len, "\x00\x01\x02", (size_t)3);
}

static void files_missing_not_found(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    file_op(ctx, sb, SP_FILE_READ, "sp_missing_file.txt", NULL, 0, SP_E_NOT_FOUND);
    file_op(ctx, sb, SP_FILE_DOWNLOAD, "sp_missing_file.txt", NULL, 0, SP_E_NOT_FOUND);
}

static void files_visible_to_exec(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    write_text(ctx, sb, "sp_to_exec.txt", "written-by-files");
    struct sp_exec *x = SP_EXEC_OK(ctx, sb, "cat sp_to_exec.txt");
    SP_REQUIRE_INT_EQ(ctx, x->exit_code, 0);
    SP_REQUIRE_STR_CONTAINS(ctx, sp_buf_str(&x->out), "written-by-files");
    x = SP_EXEC_OK(ctx, sb, "echo written-by-exec > sp_from_exec.txt");
    SP_REQUIRE_INT_EQ(ctx, x->exit_code, 0);
    struct sp_files *f = file_op(ctx, sb, SP_FILE_READ, "sp_from_exec.txt", NULL, 0, SP_E_OK);
    SP_REQUIRE_STR_CONTAINS(ctx, sp_buf_str(&f->content), "written-by-exec");
}

static void files_stat(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    mkdirs(ctx, sb, "sp_stat");
    upload(ctx, sb, "sp_stat/ten.bin", "0123456789", 10);
    struct sp_files *f = file_op(ctx, sb, SP_FILE_STAT, "sp_stat/ten.bin", NULL, 0, SP_E_OK);
    SP_REQUIRE_INT_EQ(ctx, f->n_entries, 1);
    SP_REQUIRE(ctx, !f->entries[0].is_dir, "expected a file, got a directory");
    SP_REQUIRE_INT_EQ(ctx, f->entries[0].size, 10);
    f = file_op(ctx, sb, SP_FILE_STAT, "sp_stat", NULL, 0, SP_E_OK);
    SP_REQUIRE_INT_EQ(ctx, f->n_entries, 1);
    SP_REQUIRE(ctx, f->entries[0].is_dir, "expected a directory, got a file");
    file_op(ctx, sb, SP_FILE_STAT, "sp_stat/none.bin", NULL, 0, SP_E_NOT_FOUND);
}

static void files_mkdir(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    file_op(ctx, sb, SP_FILE_MKDIR, "sp_mkdir/a/b", NULL, 0, SP_E_OK);
    struct sp_files *f = file_op(ctx, sb, SP_FILE_LIST, "sp_mkdir/a", NULL, 0, SP_E_OK);
    require_entry(ctx, f, "b", true, -1);
}

static void files_remove(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    mkdirs(ctx, sb, "sp_rm/dir");
    upload(ctx, sb, "sp_rm/file.bin", "x", 1);
    upload(ctx, sb, "sp_rm/dir/inner.bin", "y", 1);
    file_op(ctx, sb, SP_FILE_REMOVE, "sp_rm/file.bin", NULL, 0, SP_E_OK);
    file_op(ctx, sb, SP_FILE_DOWNLOAD, "sp_rm/file.bin", NULL, 0, SP_E_NOT_FOUND);
    file_op(ctx, sb, SP_FILE_REMOVE, "sp_rm/dir", NULL, 0, SP_E_OK);
    struct sp_files *f = file_op(ctx, sb, SP_FILE_LIST, "sp_rm", NULL, 0, SP_E_OK);
    SP_REQUIRE(ctx, f->n_entries == 0, "expected sp_rm to be empty after the removals, got [%s]",
               entry_names(ctx, f));
}

const struct sp_requirement sp__req_files[] = {
    {"files.write_read_round_trip", SP_STEP_FILES, SP_LEVEL_MUST, "[Conformance]", 0, 0,
     "Text written to a file reads back unchanged (plus the provider's declared newline).",
     files_write_read, 0},
    {"files.binary_round_trip", SP_STEP_FILES, SP_LEVEL_MUST, "[Conformance]", 0, 0,
     "64 KiB holding all 256 byte values upload and download byte for byte.",
     files_binary_round_trip, 0},
    {"files.write_newline_rule", SP_STEP_FILES, SP_LEVEL_MUST, "[Conformance]", 0, 0,
     "A text write adds exactly one trailing newline when the provider declares write_newline, "
     "and none otherwise.",
     files_write_newline_rule, 0},
    {"files.list", SP_STEP_FILES, SP_LEVEL_MUST, "[Conformance]", 0, 0,
     "Listing a directory returns its files and subdirectories, one level deep, marked as "
     "such.",
     files_list, 0},
    {"files.nested_parents_created", SP_STEP_FILES, SP_LEVEL_SHOULD, "[Conformance]", 0, 0,
     "Writing or uploading to a path whose parent directories are missing creates them.",
     files_nested_parents_created, 0},
    {"files.missing_not_found", SP_STEP_FILES, SP_LEVEL_MUST, "[Conformance]", 0, 0,
     "Reading or downloading a file that does not exist fails with not_found.",
     files_missing_not_found, 0},
    {"files.visible_to_exec", SP_STEP_FILES, SP_LEVEL_SHOULD, "[Conformance]", 0, 0,
     "Relative file paths resolve against the directory commands run in, both ways.",
     files_visible_to_exec, 0},
    {"files.stat", SP_STEP_FILES, SP_LEVEL_MUST, "[Conformance]", SP_CAP_FILE_STAT, 0,
     "Stat reports a file's size and kind, a directory's kind, and not_found for nothing.",
     files_stat, 0},
    {"files.mkdir", SP_STEP_FILES, SP_LEVEL_MUST, "[Conformance]", SP_CAP_FILE_MKDIR, 0,
     "Mkdir creates a directory with its missing parents.", files_mkdir, 0},
    {"files.remove", SP_STEP_FILES, SP_LEVEL_MUST, "[Conformance]", SP_CAP_FILE_REMOVE, 0,
     "Remove deletes a file, and a directory with its contents.", files_remove, 0},
};
const size_t sp__req_files_count = sizeof(sp__req_files) / sizeof(sp__req_files[0]);
