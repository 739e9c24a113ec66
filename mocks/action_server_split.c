/* Splitting a `run` command into its top-level commands, as the real server does with
 * bashlex before it refuses several at once (OpenHands runtime/utils/bash.py:523-532,
 * split_bash_commands). Commands are separated by newlines outside quotes, $( ), compound
 * commands (if/for/while/until/case/{ }/( )), here-documents and `\`-continued lines, and not
 * after an operator that needs more (&&, ||, |). A `;` keeps one command, as bashlex's list.
 * An approximation of bashlex: what it cannot parse it returns whole, so do we. */
#include "action_server_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct splitter {
    int depth;        /* open compound commands and parentheses */
    char heredoc[64]; /* the delimiter of a here-document whose body follows */
    bool in_heredoc;
    bool cont; /* the line ended with an operator or a backslash */
};

static bool word_is(const char *p, size_t n, const char *w)
{
    return strlen(w) == n && strncmp(p, w, n) == 0;
}

/* Adjusts depth for a reserved word at the start of a command. */
static void keyword(struct splitter *s, const char *p, size_t n)
{
    if (word_is(p, n, "if") || word_is(p, n, "for") || word_is(p, n, "while") ||
        word_is(p, n, "until") || word_is(p, n, "case") || word_is(p, n, "{") ||
        word_is(p, n, "select"))
        s->depth++;
    else if ((word_is(p, n, "fi") || word_is(p, n, "done") || word_is(p, n, "esac") ||
              word_is(p, n, "}")) &&
             s->depth > 0)
        s->depth--;
}

/* Scans one line (without its newline) outside here-documents. */
static void scan_line(struct splitter *s, const char *p, size_t n)
{
    char quote = 0;
    bool cmd_start = true;
    s->cont = false;
    size_t last = n;
    while (last > 0 && isspace((unsigned char)p[last - 1]))
        last--;
    for (size_t i = 0; i < last; i++) {
        char c = p[i];
        if (quote == '\'') {
            quote = c == '\'' ? 0 : quote;
            continue;
        }
        if (c == '\\') {
            if (i + 1 == last)
                s->cont = true;
            i++;
            continue;
        }
        if (quote == '"') {
            quote = c == '"' ? 0 : quote;
            continue;
        }
        if (c == '\'' || c == '"') {
            quote = c;
        } else if (c == '#' && (i == 0 || isspace((unsigned char)p[i - 1]))) {
            last = i;
            break;
        } else if (c == '(') {
            s->depth++;
        } else if (c == ')') {
            s->depth -= s->depth > 0;
        } else if (c == '<' && i + 2 < last && p[i + 1] == '<' && p[i + 2] != '<') {
            size_t j = i + 2 + (p[i + 2] == '-');
            while (j < last && (isspace((unsigned char)p[j]) || p[j] == '\'' || p[j] == '"'))
                j++;
            size_t k = 0;
            while (j < last && k + 1 < sizeof s->heredoc && !isspace((unsigned char)p[j]) &&
                   p[j] != '\'' && p[j] != '"' && p[j] != ';' && p[j] != '|' && p[j] != '&')
                s->heredoc[k++] = p[j++];
            s->heredoc[k] = '\0';
            s->in_heredoc = k > 0;
            i = j - 1;
        } else if (cmd_start && !isspace((unsigned char)c)) {
            size_t k = i;
            while (k < last && !isspace((unsigned char)p[k]) && p[k] != ';' && p[k] != '&' &&
                   p[k] != '|')
                k++;
            keyword(s, p + i, k - i);
            i = k - 1;
            cmd_start = false;
            continue;
        }
        if (c == ';' || c == '&' || c == '|')
            cmd_start = true;
    }
    if (quote != 0)
        s->cont = true; /* a quoted newline */
    while (last > 0 && isspace((unsigned char)p[last - 1]))
        last--;
    if (last > 0 && (p[last - 1] == '|' || (last > 1 && p[last - 1] == '&' && p[last - 2] == '&')))
        s->cont = true;
}

int as_split_commands(const char *cmd, char ***out)
{
    struct splitter s = {0};
    char **v = NULL;
    int n = 0;
    const char *start = cmd;
    for (const char *p = cmd;; p++) {
        if (*p != '\n' && *p != '\0')
            continue;
        const char *ls = p;
        while (ls > cmd && ls[-1] != '\n')
            ls--;
        size_t ll = (size_t)(p - ls);
        if (s.in_heredoc) {
            size_t a = 0;
            while (a < ll && ls[a] == '\t')
                a++;
            if (ll - a == strlen(s.heredoc) && strncmp(ls + a, s.heredoc, ll - a) == 0)
                s.in_heredoc = false;
        } else {
            scan_line(&s, ls, ll);
        }
        bool end = *p == '\0' || (!s.in_heredoc && s.depth == 0 && !s.cont);
        if (end) {
            size_t cl = (size_t)(p - start);
            while (cl > 0 && isspace((unsigned char)start[cl - 1]))
                cl--;
            while (cl > 0 && isspace((unsigned char)*start))
                start++, cl--;
            if (cl > 0) {
                char **nv = realloc(v, (size_t)(n + 2) * sizeof *nv);
                if (nv == NULL)
                    break;
                v = nv;
                v[n++] = strndup(start, cl);
                v[n] = NULL;
            }
            start = p + 1;
        }
        if (*p == '\0')
            break;
    }
    *out = v;
    return n;
}

void as_split_free(char **v)
{
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        free(v[i]);
    free(v);
}
