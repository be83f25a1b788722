#pragma once
// Turns frames into handler calls: reads the request header, checks the API
// and version against the handler table, and closes the connection, as Kafka
// does, on malformed frames and on APIs this listener does not serve.
#include "samsa/broker/request_context.h"
#include "samsa/net/frame_handler.h"

namespace samsa::broker {

class RequestDispatcher : public net::FrameHandler {
 public:
  RequestDispatcher(BrokerServices& services, ListenerKind listener) : services_(services), listener_(listener) {}

  void on_frame(const net::ConnectionInfo& conn, net::FramePtr frame, net::ReplyFn reply) override;

 private:
  BrokerServices& services_;
  ListenerKind listener_;
};

}  // namespace samsa::broker
