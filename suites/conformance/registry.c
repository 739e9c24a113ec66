/* The requirement table: the tables of the test_*.c files joined in step order, with the
 * requirements flagged SP_REQ_LAST (leak checks) moved to the end. Built once, on first use,
 * and read-only afterwards, so front ends on several threads may share it. */
#include <pthread.h>

#include "runner.h"

struct req_table {
    const struct sp_requirement *reqs;
    const size_t *count;
};

static const struct req_table tables[] = {
    {sp__req_auth, &sp__req_auth_count},       {sp__req_create, &sp__req_create_count},
    {sp__req_startup, &sp__req_startup_count}, {sp__req_exec, &sp__req_exec_count},
    {sp__req_files, &sp__req_files_count},     {sp__req_faults, &sp__req_faults_count},
    {sp__req_cleanup, &sp__req_cleanup_count},
};
#define N_TABLES (sizeof(tables) / sizeof(tables[0]))

/* Generous upper bound on the number of requirements; a larger table is cut (and the
 * front ends' table checks notice the missing ids). */
#define MAX_REQS 256

static const struct sp_requirement *all[MAX_REQS];
static size_t n_all;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* Appends the requirements whose SP_REQ_LAST flag equals last. */
static void add_pass(bool last)
{
    for (size_t t = 0; t < N_TABLES; t++) {
        for (size_t i = 0; i < *tables[t].count && n_all < MAX_REQS; i++) {
            const struct sp_requirement *r = &tables[t].reqs[i];
            if (((r->flags & SP_REQ_LAST) != 0) == last)
                all[n_all++] = r;
        }
    }
}

static void build(void)
{
    add_pass(false);
    add_pass(true);
}

size_t sp_requirements(const struct sp_requirement *const **out)
{
    pthread_once(&once, build);
    *out = all;
    return n_all;
}
