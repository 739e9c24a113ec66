/* cJSON helpers shared by every `<vendor>_json.c` and the mocks: thread-safe parsing with an
 * error that says where the body broke, and typed field lookups that turn a missing or
 * mistyped field into a `protocol` error naming the field. Only JSON edge files include
 * this header. */
#ifndef SP_JSON_H
#define SP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "errors.h"
#include "kv.h"

/* Parses len bytes. On failure sets a protocol error naming `what` (e.g. "Daytona sandbox")
 * and the byte offset, and returns NULL. Free the result with cJSON_Delete. Never uses
 * cJSON's global error pointer, so it is safe from several threads. */
cJSON *sp_json_parse(const char *body, size_t len, const char *what, struct sp_error *err);

/* Parses and checks the top-level type (cJSON_Object, cJSON_Array). */
cJSON *
sp_json_parse_type(const char *body, size_t len, int type, const char *what, struct sp_error *err);

/* Field lookups on an object. `required` fields that are missing, and fields present with
 * the wrong type, set a protocol error "<what>: field 'key' ..." and return -1.
 * A missing optional field leaves *out untouched and returns 0; JSON null counts as
 * missing. */
int sp_json_get_str(const cJSON *obj,
                    const char *key,
                    bool required,
                    const char **out,
                    const char *what,
                    struct sp_error *err);
/* Copies a string field into a fixed buffer; a value that does not fit is a protocol error. */
int sp_json_copy_str(const cJSON *obj,
                     const char *key,
                     bool required,
                     char *out,
                     size_t outlen,
                     const char *what,
                     struct sp_error *err);
/* Copies the string field key of the optional object member sub ("" when sub is absent or
 * null, or has no key); sub of another type, or a value that does not fit, is a protocol
 * error. */
int sp_json_copy_sub_str(const cJSON *obj,
                         const char *sub,
                         const char *key,
                         char *out,
                         size_t outlen,
                         const char *what,
                         struct sp_error *err);
int sp_json_get_int(const cJSON *obj,
                    const char *key,
                    bool required,
                    int64_t *out,
                    const char *what,
                    struct sp_error *err);
int sp_json_get_bool(const cJSON *obj,
                     const char *key,
                     bool required,
                     bool *out,
                     const char *what,
                     struct sp_error *err);
/* Copies a {string: string} object into kv (non-string values are a protocol error). */
int sp_json_get_kv(const cJSON *obj,
                   const char *key,
                   bool required,
                   struct sp_kv *out,
                   const char *what,
                   struct sp_error *err);

/* Builds a {string: string} object from kv; NULL when out of memory. */
cJSON *sp_json_from_kv(const struct sp_kv *kv);

/* Prints compactly and takes ownership of root (deleted here). Returns a heap string freed
 * with cJSON_free, or NULL when out of memory (or root is NULL). */
char *sp_json_print_free(cJSON *root);
/* Prints compactly into buf (replacing its contents) and deletes root. Returns 0 or -1. */
int sp_json_print_into(cJSON *root, struct sp_buf *buf);
/* Ends building a request body: with ok, prints root into out; root is deleted either way.
 * An `internal` error "out of memory building a <vendor> request" when ok is false or the
 * print fails. */
enum sp_err
sp_json_finish(cJSON *root, bool ok, struct sp_buf *out, const char *vendor, struct sp_error *err);

#endif
