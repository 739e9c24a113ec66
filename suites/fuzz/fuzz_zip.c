/* Fuzz target: the bounded zip reader (providers/zip.c) the action-server client uses on
 * /download_files: open, walk every entry, inflate each into a bounded buffer, and look one
 * up by name. */
#include "fuzz.h"
#include "zip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sp_zip z;
    struct sp_zip_entry e;
    struct sp_error err;
    struct sp_buf out;
    size_t pos = 0;
    sp_error_clear(&err);
    if (sp_zip_open(&z, data, size, &err) != SP_E_OK)
        return 0;
    sp_buf_init(&out, 1 << 20);
    for (int i = 0; i < 64 && sp_zip_next(&z, &pos, &e, &err) == SP_E_OK; i++) {
        FZ_CHECK(e.name >= (const char *)data && e.name_len <= size &&
                     e.name + e.name_len <= (const char *)data + size,
                 "entry names point into the archive");
        sp_buf_reset(&out);
        sp_zip_read(&z, &e, &out, &err);
        FZ_CHECK(out.len <= out.max, "the output buffer's limit holds");
    }
    sp_buf_reset(&out);
    sp_zip_extract(data, size, "a.txt", &out, &err);
    sp_buf_cleanup(&out);
    return 0;
}
