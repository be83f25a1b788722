#pragma once
// The first step of an outgoing TCP connection, shared by the polled
// KafkaClient connections and the replica fetcher's blocking one.
#include "samsa/net/kafka_client.h"

namespace samsa::net {

// Resolves `to` and starts a non-blocking connect on a close-on-exec,
// TCP_NODELAY socket. Returns the socket, or -1 when the name does not
// resolve, no socket can be made or the connect fails at once.
// `in_progress` is set when the caller must wait for POLLOUT (and then read
// SO_ERROR); otherwise the socket is connected already.
int start_tcp_connect(const Endpoint& to, bool& in_progress);

}  // namespace samsa::net
