/* What the OH_ACI editor files of the action-server mock share: aci_view.c (view, snippets,
 * validation) and aci_edit.c (create, str_replace, insert, undo_edit, history, diff). */
#ifndef SP_MOCK_ACI_INT_H
#define SP_MOCK_ACI_INT_H

#include <cjson/cJSON.h>

#include "action_server_int.h"

#define ACI_CONTEXT 4 /* config.py SNIPPET_CONTEXT_WINDOW */

enum aci_cmd { ACI_VIEW, ACI_CREATE, ACI_STR_REPLACE, ACI_INSERT, ACI_UNDO };

/* _make_output: "Here's the result of running `cat -n` on <desc>:\n" and numbered lines. */
void aci_make_output(struct sp_buf *o, const char *content, const char *desc, long start);
/* Lines from..to (1-based, inclusive) of text with their newlines (read_file with a range). */
void aci_line_range(const char *text, long from, long to, struct sp_buf *out);
/* Lines as Python's file iteration counts them. */
long aci_count_lines(const char *t);
/* validate_path and validate_file: the error text goes to err, nothing when fine. */
void aci_validate(
    struct as_ctx *c, enum aci_cmd cmd, const char *path, const char *host, struct sp_buf *err);
/* Python's repr of a JSON list of ints (view_range), e.g. "[1, 3]". */
void aci_range_repr(const cJSON *r, struct sp_buf *b);
/* The view of a directory (2 levels, hidden ones counted) and of a file's text. */
void aci_view_dir(const char *path, const char *host, struct sp_buf *o);
void aci_view_file(
    const char *path, const char *text, const cJSON *range, struct sp_buf *o, struct sp_buf *err);

#endif
