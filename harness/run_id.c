/* A run's id (run_id.h), shared by the check and load commands. */
#include "run_id.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "provider.h" /* sp_now_us */

void sp_run_id_make(char out[17])
{
    unsigned char raw[8] = {0};
    int fd = open("/dev/urandom", O_RDONLY);
    bool ok = fd >= 0 && read(fd, raw, sizeof(raw)) == (ssize_t)sizeof(raw);
    if (fd >= 0)
        close(fd);
    if (!ok) {
        /* No urandom (a strange container): time and pid still separate concurrent runs. */
        unsigned long long v =
            (unsigned long long)sp_now_us() ^ ((unsigned long long)getpid() << 40);
        memcpy(raw, &v, sizeof(raw));
    }
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
}
