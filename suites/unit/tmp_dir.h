/* A scratch directory for the unit tests that write files (test_load.c, test_load_report.c,
 * test_hostfs.c): made from a mkdtemp template, removed with everything below it. */
#ifndef SP_TEST_TMP_DIR_H
#define SP_TEST_TMP_DIR_H

#include <stdio.h>
#include <stdlib.h>

/* A new directory from tmpl ("/tmp/sp-x-XXXXXX") into dir[len]; 0, or -1 when it cannot be
 * made. */
static inline int tmp_dir_make(char *dir, size_t len, const char *tmpl)
{
    int n = snprintf(dir, len, "%s", tmpl);
    return n > 0 && (size_t)n < len && mkdtemp(dir) ? 0 : -1;
}

/* Removes dir and all below it; 0, or -1 when that failed. */
static inline int tmp_dir_remove(const char *dir)
{
    char cmd[1100];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
