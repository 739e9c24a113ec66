/* POST /execute_action of the action-server mock (spec/openhands-action-server.md 2.3, 3.1,
 * 3.2): the request body, the action dict decoded as event_from_dict does (known types, the
 * dataclass arguments, legacy keys), and the server's error statuses and texts — 422 from
 * FastAPI's validation, 500 "Internal server error: ..." for everything raised inside, with
 * Python reprs where the server formats one. */
#include "action_server_int.h"
#include "backend.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static void py_str_repr(const char *s, struct sp_buf *b)
{
    char q = strchr(s, '\'') != NULL && strchr(s, '"') == NULL ? '"' : '\'';
    sp_buf_append(b, &q, 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\\' || *p == (unsigned char)q)
            sp_buf_printf(b, "\\%c", *p);
        else if (*p == '\n')
            sp_buf_puts(b, "\\n");
        else if (*p == '\r')
            sp_buf_puts(b, "\\r");
        else if (*p == '\t')
            sp_buf_puts(b, "\\t");
        else if (*p < 0x20 || *p == 0x7f)
            sp_buf_printf(b, "\\x%02x", *p);
        else
            sp_buf_append(b, p, 1);
    }
    sp_buf_append(b, &q, 1);
}

/* Python's repr() of the value json.loads would give (for error texts the server builds with
 * f-strings). */
static void py_repr(const cJSON *v, struct sp_buf *b)
{
    char num[40];
    if (cJSON_IsString(v)) {
        py_str_repr(v->valuestring, b);
    } else if (cJSON_IsNumber(v)) {
        if (v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 9e15)
            sp_buf_printf(b, "%.0f", v->valuedouble);
        else
            as_py_float(v->valuedouble, num, sizeof(num)), sp_buf_puts(b, num);
    } else if (cJSON_IsBool(v)) {
        sp_buf_puts(b, cJSON_IsTrue(v) ? "True" : "False");
    } else if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
        bool obj = cJSON_IsObject(v);
        sp_buf_puts(b, obj ? "{" : "[");
        for (const cJSON *c = v->child; c; c = c->next) {
            if (obj)
                py_str_repr(c->string, b), sp_buf_puts(b, ": ");
            py_repr(c, b);
            if (c->next)
                sp_buf_puts(b, ", ");
        }
        sp_buf_puts(b, obj ? "}" : "]");
    } else {
        sp_buf_puts(b, "None");
    }
}

/* 500 {"detail": "Internal server error: <msg>"} where msg may quote the action dict. */
static void
reply_internal(struct mock_req *r, const char *fmt, const cJSON *action, const char *arg)
{
    struct sp_buf repr, msg;
    sp_buf_init(&repr, 0);
    sp_buf_init(&msg, 0);
    if (action != NULL)
        py_repr(action, &repr);
    sp_buf_puts(&msg, "Internal server error: ");
    /* fmt holds at most one %s for the repr and one for arg, in that order. */
    const char *p = fmt;
    int nth = 0;
    for (const char *s; (s = strstr(p, "%s")) != NULL; p = s + 2) {
        sp_buf_append(&msg, p, (size_t)(s - p));
        sp_buf_puts(&msg, nth++ == 0 && action ? sp_buf_str(&repr) : (arg ? arg : ""));
    }
    sp_buf_puts(&msg, p);
    as_reply_detail(r, 500, sp_buf_str(&msg));
    sp_buf_cleanup(&repr);
    sp_buf_cleanup(&msg);
}

/* --- decoding an action (serialization/action.py, spec 3.2) --------------------------------- */

enum arg_type { ARG_STR, ARG_BOOL, ARG_NUM, ARG_STR_OR_NULL, ARG_ANY };

struct arg_spec {
    const char *name;
    enum arg_type type;
    bool required;
};

#define COMMON_ARGS                     \
    {"thought", ARG_STR, false},        \
    {                                   \
        "security_risk", ARG_ANY, false \
    }

static const struct arg_spec RUN_ARGS[] = {{"command", ARG_STR, true},
                                           {"is_input", ARG_BOOL, false},
                                           {"blocking", ARG_BOOL, false},
                                           {"is_static", ARG_BOOL, false},
                                           {"cwd", ARG_STR_OR_NULL, false},
                                           {"hidden", ARG_BOOL, false},
                                           {"confirmation_state", ARG_STR, false},
                                           COMMON_ARGS,
                                           {NULL, ARG_ANY, false}};
static const struct arg_spec READ_ARGS[] = {
    {"path", ARG_STR, true},         {"start", ARG_NUM, false},      {"end", ARG_NUM, false},
    {"impl_source", ARG_STR, false}, {"view_range", ARG_ANY, false}, COMMON_ARGS,
    {NULL, ARG_ANY, false}};
static const struct arg_spec WRITE_ARGS[] = {{"path", ARG_STR, true},
                                             {"content", ARG_STR, true},
                                             {"start", ARG_NUM, false},
                                             {"end", ARG_NUM, false},
                                             COMMON_ARGS,
                                             {NULL, ARG_ANY, false}};

static const struct arg_spec IPYTHON_ARGS[] = {{"code", ARG_STR, true},
                                               {"include_extra", ARG_BOOL, false},
                                               {"confirmation_state", ARG_STR, false},
                                               {"kernel_init_code", ARG_STR, false},
                                               COMMON_ARGS,
                                               {NULL, ARG_ANY, false}};
static const struct arg_spec EDIT_ARGS[] = {{"path", ARG_STR, true},
                                            {"command", ARG_STR, false},
                                            {"file_text", ARG_ANY, false},
                                            {"old_str", ARG_ANY, false},
                                            {"new_str", ARG_ANY, false},
                                            {"insert_line", ARG_ANY, false},
                                            {"content", ARG_STR, false},
                                            {"start", ARG_NUM, false},
                                            {"end", ARG_NUM, false},
                                            {"impl_source", ARG_STR, false},
                                            COMMON_ARGS,
                                            {NULL, ARG_ANY, false}};

enum action_kind { ACT_RUN, ACT_READ, ACT_WRITE, ACT_IPYTHON, ACT_EDIT, ACT_BROWSE, ACT_NO_METHOD };

struct action_spec {
    const char *type;
    const char *cls;             /* the dataclass named in "wrong arguments" errors */
    const struct arg_spec *args; /* NULL = not checked */
    enum action_kind kind;
};

static const struct action_spec ACTIONS[] = {
    {"run", "CmdRunAction", RUN_ARGS, ACT_RUN},
    {"read", "FileReadAction", READ_ARGS, ACT_READ},
    {"write", "FileWriteAction", WRITE_ARGS, ACT_WRITE},
    {"browse", "BrowseURLAction", NULL, ACT_BROWSE},
    {"browse_interactive", "BrowseInteractiveAction", NULL, ACT_BROWSE},
    {"run_ipython", "IPythonRunCellAction", IPYTHON_ARGS, ACT_IPYTHON},
    {"edit", "FileEditAction", EDIT_ARGS, ACT_EDIT},
    {"call_tool_mcp", NULL, NULL, ACT_NO_METHOD},
    {"message", NULL, NULL, ACT_NO_METHOD},
    {"system", NULL, NULL, ACT_NO_METHOD},
    {"think", NULL, NULL, ACT_NO_METHOD},
    {"finish", NULL, NULL, ACT_NO_METHOD},
    {"reject", NULL, NULL, ACT_NO_METHOD},
    {"null", NULL, NULL, ACT_NO_METHOD},
    {"delegate", NULL, NULL, ACT_NO_METHOD},
    {"recall", NULL, NULL, ACT_NO_METHOD},
    {"change_agent_state", NULL, NULL, ACT_NO_METHOD},
    {"condensation", NULL, NULL, ACT_NO_METHOD},
    {"condensation_request", NULL, NULL, ACT_NO_METHOD},
    {"task_tracking", NULL, NULL, ACT_NO_METHOD},
    {"loop_recovery", NULL, NULL, ACT_NO_METHOD},
};
#define N_ACTIONS (sizeof(ACTIONS) / sizeof(ACTIONS[0]))

static const char *const LEGACY_ARGS[] = {"keep_prompt", "task_completed", "timestamp",
                                          "is_confirmed", "translated_ipython_code"};

static bool type_ok(const cJSON *v, enum arg_type t)
{
    switch (t) {
    case ARG_STR:
        return cJSON_IsString(v);
    case ARG_BOOL:
        return cJSON_IsBool(v);
    case ARG_NUM:
        return cJSON_IsNumber(v);
    case ARG_STR_OR_NULL:
        return cJSON_IsString(v) || cJSON_IsNull(v);
    case ARG_ANY:
        return true;
    }
    return false;
}

static const struct arg_spec *arg_find(const struct arg_spec *specs, const char *name)
{
    for (const struct arg_spec *s = specs; s->name; s++)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

static bool legacy_arg(const char *name)
{
    for (size_t i = 0; i < sizeof(LEGACY_ARGS) / sizeof(LEGACY_ARGS[0]); i++)
        if (strcmp(LEGACY_ARGS[i], name) == 0)
            return true;
    return false;
}

/* The dataclass constructor's complaint about args, as Python words it; "" when none. */
static void check_args(const struct action_spec *as, const cJSON *args, char *why, size_t len)
{
    why[0] = '\0';
    for (const cJSON *a = args->child; a; a = a->next) {
        const struct arg_spec *s = arg_find(as->args, a->string);
        if (s == NULL && !legacy_arg(a->string)) {
            snprintf(why, len, "%s.__init__() got an unexpected keyword argument '%s'", as->cls,
                     a->string);
            return;
        }
        if (s != NULL && !type_ok(a, s->type)) {
            snprintf(why, len, "%s: argument '%s' has the wrong type", as->cls, a->string);
            return;
        }
    }
    const char *missing[2];
    int n = 0;
    for (const struct arg_spec *s = as->args; s->name; s++)
        if (s->required && cJSON_GetObjectItemCaseSensitive(args, s->name) == NULL && n < 2)
            missing[n++] = s->name;
    if (n == 1)
        snprintf(why, len, "%s.__init__() missing 1 required positional argument: '%s'", as->cls,
                 missing[0]);
    else if (n == 2)
        snprintf(why, len, "%s.__init__() missing 2 required positional arguments: '%s' and '%s'",
                 as->cls, missing[0], missing[1]);
}

static bool get_flag(const cJSON *args, const char *name)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(args, name));
}

static cJSON *
perform(struct as_ctx *c, const struct action_spec *as, const cJSON *action, const cJSON *args)
{
    if (as->kind == ACT_READ)
        return as_action_read(c, args);
    if (as->kind == ACT_WRITE)
        return as_action_write(c, args);
    const cJSON *timeout = cJSON_GetObjectItemCaseSensitive(action, "timeout");
    bool has_timeout = cJSON_IsNumber(timeout) && timeout->valuedouble > 0;
    if (as->kind == ACT_IPYTHON) {
        const cJSON *extra = cJSON_GetObjectItemCaseSensitive(args, "include_extra");
        return as_action_ipython(c, cJSON_GetObjectItemCaseSensitive(args, "code")->valuestring,
                                 extra == NULL || cJSON_IsTrue(extra), has_timeout,
                                 has_timeout ? timeout->valuedouble : 0);
    }
    if (as->kind == ACT_EDIT)
        return as_action_edit(c, args);
    const cJSON *cwd = cJSON_GetObjectItemCaseSensitive(args, "cwd");
    struct as_run_args a = {
        .command = cJSON_GetObjectItemCaseSensitive(args, "command")->valuestring,
        .is_input = get_flag(args, "is_input"),
        .blocking = get_flag(args, "blocking"),
        .is_static = get_flag(args, "is_static"),
        .hidden = get_flag(args, "hidden"),
        .cwd = cJSON_IsString(cwd) ? cwd->valuestring : NULL,
        .has_timeout = has_timeout,
        .timeout_s = cJSON_IsNumber(timeout) ? timeout->valuedouble : 0,
    };
    return as_action_run(c, &a);
}

/* The spec of the action's type; NULL after replying 500 as event_from_dict fails. */
static const struct action_spec *lookup_action(struct mock_req *r, const cJSON *action)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(action, "action");
    if (type == NULL) { /* event_from_dict (serialization/event.py:52-59) */
        if (cJSON_GetObjectItemCaseSensitive(action, "observation") != NULL)
            reply_internal(r, "400: Invalid action type", NULL, NULL);
        else
            reply_internal(r, "Unknown event type: %s", action, NULL);
        return NULL;
    }
    for (size_t i = 0; cJSON_IsString(type) && i < N_ACTIONS; i++)
        if (strcmp(ACTIONS[i].type, type->valuestring) == 0)
            return &ACTIONS[i];
    struct sp_buf t;
    sp_buf_init(&t, 0);
    py_repr(type, &t);
    /* ACTION_TYPE_TO_CLASS.keys() in registry order (serialization/action.py:31-55). */
    reply_internal(r,
                   "'action['action']=%s' is not defined. Available actions: dict_keys(["
                   "<ActionType.NULL: 'null'>, <ActionType.RUN: 'run'>, "
                   "<ActionType.RUN_IPYTHON: 'run_ipython'>, <ActionType.BROWSE: 'browse'>, "
                   "<ActionType.BROWSE_INTERACTIVE: 'browse_interactive'>, "
                   "<ActionType.READ: 'read'>, <ActionType.WRITE: 'write'>, "
                   "<ActionType.EDIT: 'edit'>, <ActionType.THINK: 'think'>, "
                   "<ActionType.FINISH: 'finish'>, <ActionType.REJECT: 'reject'>, "
                   "<ActionType.DELEGATE: 'delegate'>, <ActionType.RECALL: 'recall'>, "
                   "<ActionType.CHANGE_AGENT_STATE: 'change_agent_state'>, "
                   "<ActionType.MESSAGE: 'message'>, <ActionType.SYSTEM: 'system'>, "
                   "<ActionType.CONDENSATION: 'condensation'>, "
                   "<ActionType.CONDENSATION_REQUEST: 'condensation_request'>, "
                   "<ActionType.MCP: 'call_tool_mcp'>, "
                   "<ActionType.TASK_TRACKING: 'task_tracking'>, "
                   "<ActionType.LOOP_RECOVERY: 'loop_recovery'>])",
                   NULL, sp_buf_str(&t));
    sp_buf_cleanup(&t);
    return NULL;
}

/* Decodes and runs one action dict; replies. */
static void run_action(struct as_ctx *c, const cJSON *action)
{
    struct mock_req *r = c->r;
    const struct action_spec *as = lookup_action(r, action);
    if (as == NULL)
        return;
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(action, "args");
    cJSON *empty = cJSON_CreateObject();
    if (args == NULL)
        args = empty;
    const cJSON *timeout = cJSON_GetObjectItemCaseSensitive(action, "timeout");
    char why[512] = "";
    if (!cJSON_IsObject(args))
        snprintf(why, sizeof(why), "%s.__init__() argument after ** must be a mapping",
                 as->cls ? as->cls : "Action");
    else if (as->args != NULL)
        check_args(as, args, why, sizeof(why));
    if (why[0] != '\0')
        reply_internal(r, "action=%s has the wrong arguments: %s", action, why);
    else if (timeout != NULL && !cJSON_IsNumber(timeout) && !cJSON_IsNull(timeout))
        reply_internal(r, "'<' not supported between instances of 'str' and 'int'", NULL, NULL);
    else if (as->kind == ACT_NO_METHOD)
        reply_internal(r, "'ActionExecutor' object has no attribute '%s'", NULL, as->type);
    else if (as->kind == ACT_EDIT &&
             strcmp(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(args, "impl_source"))
                        ? cJSON_GetObjectItemCaseSensitive(args, "impl_source")->valuestring
                        : "oh_aci",
                    "oh_aci") != 0)
        reply_internal(r, "", NULL, NULL); /* assert impl_source == OH_ACI (server :566) */
    else if (as->kind == ACT_BROWSE)
        mock_reply_cjson(
            r, 200, as_error_observation("Browser functionality is not supported or disabled."));
    else if (mock_is_synthetic(r->mock))
        as_synthetic_action(c, as->type, action, args); /* in memory, replies on a timer */
    else {
        /* One action at a time per server (the server's asyncio lock). */
        pthread_mutex_lock(&c->sb->exec_lock);
        cJSON *obs = perform(c, as, action, args);
        pthread_mutex_unlock(&c->sb->exec_lock);
        if (obs != NULL)
            mock_reply_cjson(r, 200, obs);
        mock_reply_after(r, mock_store_delay_us(mock_store_of(r->mock), MOCK_DELAY_EXEC));
    }
    cJSON_Delete(empty);
}

void as_execute_action(struct as_ctx *c)
{
    struct mock_req *r = c->r;
    struct sp_error err;
    struct sp_buf repr, errors;
    if (r->body.len == 0) {
        as_reply_invalid(r, "[{'type': 'missing', 'loc': ('body',), 'msg': 'Field required', "
                            "'input': None}]");
        return;
    }
    cJSON *root = sp_json_parse(sp_buf_str(&r->body), r->body.len, "request", &err);
    if (root == NULL) {
        as_reply_invalid(r, "[{'type': 'json_invalid', 'loc': ('body', 0), 'msg': 'JSON decode "
                            "error', 'input': {}, 'ctx': {'error': 'Expecting value'}}]");
        return;
    }
    const cJSON *action = cJSON_GetObjectItemCaseSensitive(root, "action");
    if (cJSON_IsObject(action)) {
        run_action(c, action);
        cJSON_Delete(root);
        return;
    }
    sp_buf_init(&repr, 0);
    sp_buf_init(&errors, 0);
    py_repr(cJSON_IsObject(root) ? (action ? action : root) : root, &repr);
    if (!cJSON_IsObject(root))
        sp_buf_printf(&errors,
                      "[{'type': 'model_attributes_type', 'loc': ('body',), 'msg': "
                      "'Input should be a valid dictionary or object to extract fields "
                      "from', 'input': %s}]",
                      sp_buf_str(&repr));
    else if (action == NULL)
        sp_buf_printf(&errors,
                      "[{'type': 'missing', 'loc': ('body', 'action'), 'msg': 'Field "
                      "required', 'input': %s}]",
                      sp_buf_str(&repr));
    else
        sp_buf_printf(&errors,
                      "[{'type': 'dict_type', 'loc': ('body', 'action'), 'msg': 'Input "
                      "should be a valid dictionary', 'input': %s}]",
                      sp_buf_str(&repr));
    as_reply_invalid(r, sp_buf_str(&errors));
    sp_buf_cleanup(&repr);
    sp_buf_cleanup(&errors);
    cJSON_Delete(root);
}
