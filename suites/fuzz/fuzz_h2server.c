/* Fuzz target: the mock core's HTTP/2 server (mocks/h2server.c, h2_worker.c) fed hostile
 * bytes: frames, HPACK, stream states, flow control, request assembly into struct mock_req,
 * and the replies it frames back. The input follows the client connection preface on one
 * loopback connection to the Modal mock (its only transport); the target half-closes and
 * reads until the server closes. The server has no entry point without a socket of its own
 * (the core owns it, behind sp_mock_start), so the bytes go through loopback TCP: the path
 * every client takes. Requests reach the Modal handlers only with the mock's random tokens,
 * which the input cannot know: fuzz_modal_mock.c covers the handlers; this target the
 * transport, the route matcher and the refusals. Property: the server answers and closes,
 * never crashes, leaks or hangs. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "mock.h"

static const char PREFACE[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

static struct {
    struct fz_mock mk;
    unsigned port;
} g;

static int connect_mock(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g.port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    FZ_CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0,
             "the mock accepts a connection");
    return fd;
}

/* Writes everything, reading what the server sends meanwhile (it may answer before the
 * input is all in, and a full socket would stall both sides). */
static void write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        struct pollfd pf = {fd, POLLOUT | POLLIN, 0};
        if (poll(&pf, 1, 1000) <= 0)
            continue;
        if (pf.revents & POLLIN) {
            char sink[4096];
            if (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) == 0)
                return; /* the server closed first (a connection error) */
        }
        if (pf.revents & (POLLERR | POLLHUP))
            return;
        if (pf.revents & POLLOUT) {
            ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w < 0)
                return;
            p += w;
            n -= (size_t)w;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g.port == 0) {
        fz_mock_start(&g.mk, "modal");
        g.port = sp_mock_port(g.mk.m);
    }
    int fd = connect_mock();
    write_all(fd, (const uint8_t *)PREFACE, sizeof(PREFACE) - 1);
    write_all(fd, data, size);
    shutdown(fd, SHUT_WR);
    /* The server reads our end of stream, answers what it can and closes: its idle timeout
     * (60 s) is far above this wait, so reaching it means the server hung. */
    bool closed = false;
    for (int waited = 0; !closed && waited < 30000;) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 100) == 0) {
            waited += 100;
            continue;
        }
        char buf[16384];
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        closed = n <= 0;
    }
    close(fd);
    FZ_CHECK(closed, "the server closes the connection once the client's bytes end");
    return 0;
}
