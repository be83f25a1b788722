#include "samsa/broker/controller_channel.h"

#include <chrono>
#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"

#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/create_topics_request.h"
#include "samsa/protocol/gen/create_topics_response.h"

namespace samsa::broker {

void send_create_topics(ControllerChannel& channel, const protocol::CreateTopicsRequest& request,
                        std::function<void(bool answered)> done) {
  constexpr int16_t kVersion = 7;
  protocol::WireWriter w;
  request.encode(w, kVersion);
  channel.send(
      protocol::CreateTopicsRequest::kApiKey, kVersion, w.take(), std::chrono::milliseconds(request.timeout_ms),
      [](const std::vector<uint8_t>& body) {
        try {
          protocol::WireReader r(body);
          protocol::CreateTopicsResponse response;
          response.decode(r, kVersion);
          for (const auto& topic : response.topics)
            if (topic.error_code == protocol::code(protocol::ErrorCode::NOT_CONTROLLER)) return true;
        } catch (const std::exception&) {
        }
        return false;
      },
      [done = std::move(done)](std::optional<std::vector<uint8_t>> body) { done(body.has_value()); });
}

}  // namespace samsa::broker
