/* Replays a fuzz target's corpus once, without libFuzzer: `make test` builds each target
 * with this main (gcc is enough) and runs it, so every input that once crashed a parser, and
 * every seed, is parsed again on every test run. The corpus is the directory or files on the
 * command line, or else suites/fuzz/corpus/<name>, where <name> is this program's name after
 * "fuzz_" (run from the repository root, as make does). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Runs one file through the target; -1 when it cannot be read. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    size_t cap = 4096, len = 0;
    uint8_t *data = malloc(cap);
    size_t n;
    while (data != NULL && (n = fread(data + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *grown = realloc(data, cap *= 2);
            if (grown == NULL)
                free(data);
            data = grown;
        }
    }
    fclose(f);
    if (data == NULL)
        return -1;
    LLVMFuzzerTestOneInput(data, len);
    free(data);
    return 0;
}

/* Replays path (a file, or every file in a directory). Returns the count, -1 on error. */
static long replay(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: %s: no such corpus\n", path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return replay_file(path) == 0 ? 1 : -1;
    DIR *d = opendir(path);
    long count = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        char p[4096];
        if (e->d_name[0] == '.' ||
            snprintf(p, sizeof(p), "%s/%s", path, e->d_name) >= (int)sizeof(p))
            continue;
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
            if (replay_file(p) != 0) {
                fprintf(stderr, "replay: cannot read %s\n", p);
                count = -1;
                break;
            }
            count++;
        }
    }
    if (d)
        closedir(d);
    return count;
}

int main(int argc, char **argv)
{
    char dir[512];
    const char *name = strrchr(argv[0], '/');
    name = name ? name + 1 : argv[0];
    if (strncmp(name, "fuzz_", 5) == 0)
        name += 5;
    snprintf(dir, sizeof(dir), "suites/fuzz/corpus/%s", name);
    long total = 0;
    for (int i = argc > 1 ? 1 : 0; i < (argc > 1 ? argc : 1); i++) {
        long n = replay(argc > 1 ? argv[i] : dir);
        if (n <= 0) {
            fprintf(stderr, "replay: %s: %s\n", argc > 1 ? argv[i] : dir,
                    n == 0 ? "empty corpus" : "failed");
            return 1;
        }
        total += n;
    }
    printf("replayed %ld inputs through %s\n", total, name);
    return 0;
}
