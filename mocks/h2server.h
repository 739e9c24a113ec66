/* The mock core's HTTP/2 (h2c, prior knowledge) transport on nghttp2; see h2server.c. Only
 * mockcore.c starts and stops it; vendor handlers see struct mock_req as over HTTP/1.1. */
#ifndef SP_MOCK_H2SERVER_H
#define SP_MOCK_H2SERVER_H

#include <stdbool.h>

struct sp_mock;
struct mock_h2;
struct mock_conn;

/* Listens on host:port (0 = ephemeral; *bound_port gets the port) and serves requests
 * through the core. Returns NULL when it cannot listen. */
struct mock_h2 *mock_h2_start(struct sp_mock *m,
                              const char *host,
                              unsigned port,
                              unsigned idle_timeout_s,
                              unsigned *bound_port);
/* Stops accepting, ends every connection and waits for every request's worker. */
void mock_h2_stop(struct mock_h2 *srv);

#endif
