/* The last line of `check`'s cleanup after an interrupted run: a create that was cut off
 * may have made a sandbox whose id the run never learnt. Such a sandbox still carries the
 * run label, so it is found by label and deleted here. */
#ifndef SP_CHECK_CLEANUP_H
#define SP_CHECK_CLEANUP_H

#include <stdbool.h>
#include <stddef.h>

#include "kv.h"
#include "provider.h"

/* Deletes every sandbox labelled SP_RUN_LABEL=run_id (and run_id + "-probe", the label of
 * create.run_label_findable) that attach finds, one at a time, with a client made from
 * provider, env and opts (its cancel hook dropped). Returns how many it deleted; *stuck is
 * set when it had to stop (an error), with the reason in why. *searched is false for a
 * provider without labels, which cannot be searched. */
size_t sp_check_delete_labelled(const char *provider,
                                const struct sp_kv *env,
                                const struct sp_client_opts *opts,
                                const char *run_id,
                                bool *searched,
                                bool *stuck,
                                char *why,
                                size_t why_len);

#endif
