/*
 * test_conv: server/conv.  The conversation order (a BATCH only on a
 * connection whose HELLO was answered), the cap of CONV_MAX_PER_NODE
 * connections per node key (admissions counted at ZAP, bound to a
 * connection by its first message, forgotten after CONV_ADMIT_WINDOW_MS),
 * a descriptor reused before its close event was read, and a close event
 * from the socket monitor releasing a node's connection.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <zmq.h>

#include "proto/wire.h"
#include "server/conv.h"

static const uint8_t node_a[RZ_NODE_ID_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t node_b[RZ_NODE_ID_BYTES] = {8, 7, 6, 5, 4, 3, 2, 1};

static int
admit(conv *c, const uint8_t *node, uint64_t now_ms)
{
    int say;
    return conv_admit(c, node, now_ms, &say);
}

typedef struct fixture {
    void *ctx, *router;
    conv *c;
} fixture;

static int
setup(void **state)
{
    static fixture f;
    rz_error err = {0, ""};
    f.ctx = zmq_ctx_new();
    f.router = zmq_socket(f.ctx, ZMQ_ROUTER);
    assert_int_equal(conv_configure(f.router, &err), 0);
    assert_int_equal(conv_new(&f.c, f.ctx, f.router, &err), 0);
    *state = &f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    conv_destroy(&f->c);
    zmq_close(f->router);
    zmq_ctx_term(f->ctx);
    return 0;
}

static void
test_order(void **state)
{
    fixture *f = *state;
    rz_error err = {0, ""};
    conv_conn *k;
    assert_int_equal(admit(f->c, node_a, 1000), 0);
    k = conv_bind(f->c, "\0\1\2\3\4", 5, 10, node_a);
    assert_non_null(k);
    assert_int_equal(conv_order(k, RZ_MSG_BATCH, &err), RZ_E_MSGTYPE);
    assert_non_null(strstr(err.text, "BATCH before HELLO"));
    assert_int_equal(conv_order(k, RZ_MSG_HELLO, &err), 0);
    conv_ready(k);
    /* The same routing id finds the same, now READY, connection. */
    k = conv_bind(f->c, "\0\1\2\3\4", 5, 10, node_a);
    assert_int_equal(conv_order(k, RZ_MSG_BATCH, &err), 0);
    /* Another connection of the same node starts NEW. */
    assert_int_equal(admit(f->c, node_a, 1000), 0);
    k = conv_bind(f->c, "\0\1\2\3\5", 5, 11, node_a);
    assert_int_equal(conv_order(k, RZ_MSG_BATCH, &err), RZ_E_MSGTYPE);
}

static void
test_cap(void **state)
{
    fixture *f = *state;
    size_t conns, pending;
    int i;
    for (i = 0; i < CONV_MAX_PER_NODE; i++)
        assert_int_equal(admit(f->c, node_a, 1000 + (uint64_t)i), 0);
    assert_int_equal(admit(f->c, node_a, 2000), -1);
    assert_int_equal(admit(f->c, node_b, 2000), 0); /* other nodes are not affected */
    /* A first message binds the oldest admission: still 4 in all. */
    conv_bind(f->c, "\0\0\0\0\1", 5, 20, node_a);
    conv_counts(f->c, &conns, &pending);
    assert_int_equal(conns, 1);
    assert_int_equal(pending, CONV_MAX_PER_NODE - 1 + 1);
    assert_int_equal(admit(f->c, node_a, 3000), -1);
    /* Unbound admissions are forgotten after the window; the bound one stays. */
    assert_int_equal(admit(f->c, node_a, 1003 + CONV_ADMIT_WINDOW_MS), 0);
    assert_int_equal(admit(f->c, node_a, 1003 + CONV_ADMIT_WINDOW_MS), 0);
    assert_int_equal(admit(f->c, node_a, 1003 + CONV_ADMIT_WINDOW_MS), 0);
    assert_int_equal(admit(f->c, node_a, 1003 + CONV_ADMIT_WINDOW_MS), -1);
}

/* A key refused many times a second is logged once per CONV_REFUSAL_LOG_MS. */
static void
test_refusal_said_once(void **state)
{
    fixture *f = *state;
    int i, say, said = 0;
    for (i = 0; i < CONV_MAX_PER_NODE; i++)
        assert_int_equal(admit(f->c, node_a, 1000), 0);
    for (i = 0; i < 100; i++) {
        assert_int_equal(conv_admit(f->c, node_a, 2000 + (uint64_t)i * 10, &say), -1);
        said += say;
    }
    assert_int_equal(said, 1);
    assert_int_equal(conv_admit(f->c, node_a, 2000 + CONV_REFUSAL_LOG_MS, &say), -1);
    assert_int_equal(say, 1);
}

static void
test_fd_reused(void **state)
{
    fixture *f = *state;
    size_t conns, pending;
    rz_error err = {0, ""};
    conv_conn *k;
    assert_int_equal(admit(f->c, node_a, 1000), 0);
    k = conv_bind(f->c, "\0\0\0\0\1", 5, 30, node_a);
    conv_ready(k);
    /* Descriptor 30 closed and reused by a new connection before the
     * close event was read: the old connection is gone, the new one NEW. */
    assert_int_equal(admit(f->c, node_a, 1001), 0);
    k = conv_bind(f->c, "\0\0\0\0\2", 5, 30, node_a);
    conv_counts(f->c, &conns, &pending);
    assert_int_equal(conns, 1);
    assert_int_equal(pending, 0);
    assert_int_equal(conv_order(k, RZ_MSG_BATCH, &err), RZ_E_MSGTYPE);
}

/* A real connection: its close, seen by the monitor, releases the node. */
static void
test_monitor_close(void **state)
{
    fixture *f = *state;
    void *dealer = zmq_socket(f->ctx, ZMQ_DEALER);
    zmq_msg_t rid, body;
    zmq_pollitem_t it;
    size_t conns, pending;
    int fd, zero = 0, i;
    assert_int_equal(zmq_bind(f->router, "tcp://127.0.0.1:*"), 0);
    {
        char ep[256];
        size_t n = sizeof ep;
        assert_int_equal(zmq_getsockopt(f->router, ZMQ_LAST_ENDPOINT, ep, &n), 0);
        zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof zero);
        assert_int_equal(zmq_connect(dealer, ep), 0);
    }
    assert_int_equal(zmq_send(dealer, "x", 1, 0), 1);
    zmq_msg_init(&rid);
    zmq_msg_init(&body);
    assert_true(zmq_msg_recv(&rid, f->router, 0) >= 0);
    assert_true(zmq_msg_recv(&body, f->router, 0) >= 0);
    fd = zmq_msg_get(&body, ZMQ_SRCFD);
    assert_true(fd >= 0);
    assert_int_equal(admit(f->c, node_b, 1000), 0);
    conv_bind(f->c, zmq_msg_data(&rid), zmq_msg_size(&rid), fd, node_b);
    zmq_msg_close(&rid);
    zmq_msg_close(&body);
    conv_counts(f->c, &conns, &pending);
    assert_int_equal(conns, 1);
    zmq_close(dealer);
    for (i = 0; i < 100 && conns > 0; i++) { /* bounded: 10 s */
        it.socket = conv_monitor_socket(f->c);
        it.fd = 0;
        it.events = ZMQ_POLLIN;
        it.revents = 0;
        if (zmq_poll(&it, 1, 100) > 0)
            conv_monitor_event(f->c);
        conv_counts(f->c, &conns, &pending);
    }
    assert_int_equal(conns, 0);
    for (i = 0; i < CONV_MAX_PER_NODE; i++)
        assert_int_equal(admit(f->c, node_b, 2000), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusal_said_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fd_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_monitor_close, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
