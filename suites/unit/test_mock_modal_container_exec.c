/* Unit tests of the Modal mock's legacy exec RPCs (mocks/modal_container_exec.c) over h2c:
 * ContainerExec with a workdir and a secret, ContainerExecGetOutput of stdout (raw bytes) and
 * stderr (text) with batch indexes and the exit code in the last batch, a call resumed from
 * its last batch index, ContainerExecWait with timeout 0 while running and after the exit,
 * and unknown ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mock_modal_grpc.h"

/* A V1 sandbox (with SBENV in a secret) and its task id (both malloc'd). */
static void sandbox(struct fx *f, char **task)
{
    char *app = make_app(f);
    Modal__Client__Sandbox def = MODAL__CLIENT__SANDBOX__INIT;
    char *id = create_v1(f, app, &def);
    *task = task_id_of(f, id);
    free(id);
    free(app);
}

/* Reads one descriptor's batches; returns the exit code of the last batch (-1 when none) and
 * appends the output to out; *last_index gets the last batch index. */
static int read_output(struct fx *f,
                       const char *exec,
                       int fd,
                       uint64_t from,
                       bool raw,
                       struct sp_buf *out,
                       uint64_t *last_index)
{
    Modal__Client__ContainerExecGetOutputRequest q =
        MODAL__CLIENT__CONTAINER_EXEC_GET_OUTPUT_REQUEST__INIT;
    q.exec_id = (char *)(uintptr_t)exec;
    q.timeout = 5;
    q.last_batch_index = from;
    q.file_descriptor = fd;
    q.get_raw_bytes = raw;
    struct sp_http_rsp rsp;
    call(f, CP "ContainerExecGetOutput", &q.base, 0, 0, &rsp);
    struct sp_error err;
    sp_error_clear(&err);
    assert_int_equal(sp_grpc_status(&rsp, &err), SP_E_OK);
    const unsigned char *b = (const unsigned char *)rsp.body.data;
    size_t off = 0;
    int code = -1;
    while (off + 5 <= rsp.body.len) {
        size_t n = (size_t)b[off + 1] << 24 | (size_t)b[off + 2] << 16 | (size_t)b[off + 3] << 8 |
                   b[off + 4];
        Modal__Client__RuntimeOutputBatch *m = (void *)protobuf_c_message_unpack(
            &modal__client__runtime_output_batch__descriptor, NULL, n, b + off + 5);
        assert_non_null(m);
        for (size_t i = 0; i < m->n_items; i++) {
            const Modal__Client__RuntimeOutputMessage *it = m->items[i];
            assert_int_equal(it->file_descriptor, fd);
            if (raw)
                sp_buf_append(out, it->message_bytes.data, it->message_bytes.len);
            else
                sp_buf_puts(out, it->message);
        }
        assert_true(m->batch_index >= from);
        *last_index = m->batch_index;
        if (m->_exit_code_case)
            code = m->exit_code;
        protobuf_c_message_free_unpacked(&m->base, NULL);
        off += 5 + n;
    }
    assert_int_equal(off, rsp.body.len);
    sp_http_rsp_cleanup(&rsp);
    return code;
}

static int wait_exec(struct fx *f, const char *exec, float timeout, bool *completed)
{
    Modal__Client__ContainerExecWaitRequest q = MODAL__CLIENT__CONTAINER_EXEC_WAIT_REQUEST__INIT;
    q.exec_id = (char *)(uintptr_t)exec;
    q.timeout = timeout;
    Modal__Client__ContainerExecWaitResponse *r =
        ok_call(f, CP "ContainerExecWait", &q.base, 0,
                &modal__client__container_exec_wait_response__descriptor);
    *completed = r->completed;
    int code = r->_exit_code_case ? r->exit_code : -1;
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return code;
}

static void test_container_exec(void **state)
{
    struct fx *f = *state;
    char *task = NULL, *sid = make_secret(f, "SECRETVAR", "from-secret", 5);
    sandbox(f, &task);
    char sh[] = "sh", c[] = "-c", wd[] = "/tmp";
    char script[] = "sleep 0.3; pwd; printf 'a\\0b'; echo \"$SECRETVAR\"; echo oops >&2; exit 7";
    char *cmd[] = {sh, c, script}, *sids[] = {sid};
    Modal__Client__ContainerExecRequest q = MODAL__CLIENT__CONTAINER_EXEC_REQUEST__INIT;
    q.task_id = task;
    q.n_command = 3;
    q.command = cmd;
    q._workdir_case = MODAL__CLIENT__CONTAINER_EXEC_REQUEST___WORKDIR_WORKDIR;
    q.workdir = wd;
    q.n_secret_ids = 1;
    q.secret_ids = sids;
    Modal__Client__ContainerExecResponse *r = ok_call(
        f, CP "ContainerExec", &q.base, 0, &modal__client__container_exec_response__descriptor);
    char *exec = strdup(r->exec_id);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    assert_int_equal(strncmp(exec, "ce-", 3), 0);
    bool done = true;
    assert_int_equal(wait_exec(f, exec, 0, &done), -1); /* still sleeping */
    assert_false(done);
    struct sp_buf out, err;
    sp_buf_init(&out, 0);
    sp_buf_init(&err, 0);
    uint64_t idx = 0;
    assert_int_equal(read_output(f, exec, 1, 0, true, &out, &idx), 7);
    /* pwd prints the host directory standing for /tmp: check the tail only. */
    assert_true(out.len > 4);
    const char *nl = memchr(out.data, '\n', out.len);
    assert_non_null(nl);
    assert_memory_equal(nl - 4, "/tmp", 4);
    size_t rest = out.len - (size_t)(nl + 1 - out.data);
    assert_int_equal(rest, 15);
    assert_memory_equal(nl + 1, "a\0bfrom-secret\n", 15);
    assert_int_equal(idx, out.len);
    uint64_t out_idx = idx;
    assert_int_equal(read_output(f, exec, 2, 0, false, &err, &idx), 7);
    assert_string_equal(sp_buf_str(&err), "oops\n");
    /* Resumed from the last index: nothing more, only the exit code. */
    sp_buf_reset(&out);
    uint64_t end = 0;
    assert_int_equal(read_output(f, exec, 1, out_idx, true, &out, &end), 7);
    assert_int_equal(out.len, 0);
    assert_int_equal(end, out_idx);
    sp_buf_reset(&err);
    assert_int_equal(read_output(f, exec, 2, 5, false, &err, &end), 7);
    assert_int_equal(err.len, 0);
    assert_int_equal(wait_exec(f, exec, 10, &done), 7);
    assert_true(done);
    /* Unknown ids. */
    Modal__Client__ContainerExecWaitRequest w = MODAL__CLIENT__CONTAINER_EXEC_WAIT_REQUEST__INIT;
    char bogus[] = "ce-xxxxxxxxxxxx-ta-nothing";
    w.exec_id = bogus;
    assert_int_equal(err_call(f, CP "ContainerExecWait", &w.base, 0, 0, 5), SP_E_NOT_FOUND);
    char none[] = "ta-none";
    q.task_id = none;
    assert_int_equal(err_call(f, CP "ContainerExec", &q.base, 0, 0, 5), SP_E_NOT_FOUND);
    sp_buf_cleanup(&out);
    sp_buf_cleanup(&err);
    free(exec);
    free(task);
    free(sid);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_container_exec, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
