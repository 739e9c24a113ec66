/* The id of one run of `check` or `load`: it labels every sandbox the run creates
 * (sandprobe_run=<id>), so the run's cleanup and a later sweep find them. */
#ifndef SP_RUN_ID_H
#define SP_RUN_ID_H

/* 16 lowercase hex digits and a NUL into out: random, or time and pid where /dev/urandom
 * cannot be read. */
void sp_run_id_make(char out[17]);

#endif
