/* Fuzz target: the action-server mock's zip extractor (mocks/zipwrite.c), which unpacks
 * whatever a client uploads. Extracts into a scratch directory beneath a scratch sandbox
 * root with a small budget, then checks that the budget held and nothing was written next
 * to the root; the directory is emptied after each input. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "hostfs.h"
#include "mock_int.h"
#include "zipwrite.h"

#define BUDGET 4096

static struct mock_sandbox *sb;
static char tmp[64], dest[600], canary[600];

/* Leaves nothing in /tmp after the run. */
static void remove_scratch(void)
{
    mock_fs_remove_all(sb, dest);
    rmdir(sb->root);
    rmdir(canary);
    rmdir(tmp);
    free(sb);
}

static void setup_once(void)
{
    snprintf(tmp, sizeof(tmp), "/tmp/sp-fuzz-zip-XXXXXX");
    if (mkdtemp(tmp) == NULL || (sb = calloc(1, sizeof(*sb))) == NULL)
        abort();
    snprintf(sb->root, sizeof(sb->root), "%s/root", tmp);
    snprintf(dest, sizeof(dest), "%s/workspace", sb->root);
    snprintf(canary, sizeof(canary), "%s/outside", tmp);
    if (mkdir(sb->root, 0755) != 0 || mkdir(canary, 0755) != 0)
        abort();
    atexit(remove_scratch);
}

/* Bytes under dir (recursive), not following links. */
static long long du(const char *dir)
{
    DIR *d = opendir(dir);
    long long total = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        char p[4096];
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >= (int)sizeof(p) || lstat(p, &st) != 0)
            continue;
        total += S_ISDIR(st.st_mode) ? du(p) : st.st_size;
    }
    if (d)
        closedir(d);
    return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[256];
    if (sb == NULL)
        setup_once();
    if (mock_fs_mkdir_p(sb, dest, 0755) != 0) {
        perror("fuzz_zip_extract: cannot make the scratch directory");
        abort();
    }
    mock_zip_extract_in(sb, data, size, dest, BUDGET, why, sizeof(why));
    FZ_CHECK(du(dest) <= BUDGET, "the extraction budget holds");
    FZ_CHECK(du(canary) == 0, "nothing lands outside the sandbox root");
    mock_fs_remove_all(sb, dest);
    return 0;
}
